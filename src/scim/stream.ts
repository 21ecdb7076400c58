import type { Response } from 'express';
import { heavy } from '../heap';

/** Lists longer than this are written in pieces (writeStreamed) rather than as one JSON text. */
export const STREAMED_OVER = 1000;
const PIECE = 1000;

/**
 * Writes `body` as JSON with its `key` list rendered and written a piece at a time, waiting for the
 * client to take each: a group of 100,000 members never exists as one 15 MB string and its copy in
 * a buffer, nor as 100,000 rendered objects at once. The JSON is what res.json(body) would send,
 * byte for byte, `body[key]` being the rendered list. The sync log keeps the first piece. The list
 * was read whole, so the request is heavy (heap.ts).
 */
export async function writeStreamed<T>(res: Response, status: number, body: Record<string, unknown>, key: string, items: readonly T[], render: (item: T) => unknown): Promise<void> {
  heavy(res.req);
  res.status(status);
  res.sentJson = { ...body, [key]: items.slice(0, PIECE).map(render) };
  let closed = false;
  res.once('close', () => (closed = true));
  // The client has not taken what was written yet: wait until it has, or has gone.
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  const write = async (text: string) => {
    if (!res.write(text) && !closed) await drained();
  };
  await write('{');
  let first = true;
  for (const [k, value] of Object.entries(body)) {
    if (value === undefined) continue;
    await write(`${first ? '' : ','}${JSON.stringify(k)}:`);
    first = false;
    if (k !== key) {
      await write(JSON.stringify(value));
      continue;
    }
    await write('[');
    for (let i = 0; i < items.length && !closed; i += PIECE) {
      await write(`${i ? ',' : ''}${items.slice(i, i + PIECE).map((item) => JSON.stringify(render(item))).join(',')}`);
    }
    await write(']');
  }
  res.end('}');
}
