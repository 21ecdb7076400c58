import type { IncomingMessage } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

/** A request body of this many bytes or more makes its request heavy. */
export const HEAVY_BODY_BYTES = 1024 * 1024;

declare module 'node:http' {
  interface IncomingMessage {
    /** The request holds much in memory (a big body, a long member list): see heavy(). */
    heavy?: boolean;
  }
}

let inFlight = 0;
let scheduled = false;
let collections = 0;

/**
 * V8's full garbage collection, asked for by name: `--expose-gc` set at run time makes the `gc`
 * function of a new context, which collects this whole isolate (the `gc` of the main context exists
 * only when node was started with the flag). Undefined should V8 refuse.
 */
const collect: (() => void) | undefined = (() => {
  const given = (globalThis as { gc?: () => void }).gc;
  if (typeof given === 'function') return given;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Marks a request as heavy: a body of a megabyte or more (the SCIM and admin body readers), a long
 * member list written in pieces (stream.ts). When the last heavy request in flight is done, V8
 * collects once. Why: V8 sets the old generation's next limit from what is live at its last full
 * collection, and one that fell during a 99,999-member `POST /Groups` (40 to 80 MB live) set it so
 * high that the garbage of the small requests after it took the server from 184 to 297 MB before V8
 * collected again (the full benchmark's 317 MB). Collected once the big request has gone, the limit
 * is set from what is live then (about 20 MB). A collection costs about 10 ms, and only such
 * requests cause one.
 */
export function heavy(req: IncomingMessage): void {
  if (req.heavy || !collect) return;
  req.heavy = true;
  inFlight++;
}

/** A request is done (the app's close listener): the last heavy one in flight schedules the collection. */
export function done(req: IncomingMessage): void {
  if (!req.heavy) return;
  req.heavy = false;
  inFlight--;
  if (inFlight > 0 || scheduled || !collect) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    if (inFlight > 0) return; // another heavy request came meanwhile: its end collects
    collections++;
    collect();
  });
}

/** Collections made so far (the tests read it). */
export const heavyCollections = (): number => collections;
