import crypto from 'node:crypto';

/**
 * New ids are UUID version 7 (RFC 9562): a 48-bit millisecond timestamp, then random bits. Ids made
 * one after another sort one after another, so every index keyed by them (users, groups, enrollments,
 * the sync log's request ids) grows at its right edge: an insert dirties one B-tree page instead of a
 * random one, which on SQLite was most of the cost of writing the sync log. Within one millisecond a
 * 12-bit counter (`rand_a`, RFC 9562 §6.2 method 1) keeps them in order; the rest is random.
 */
let lastMs = 0;
let counter = 0;
const pool = Buffer.alloc(8 * 1024);
let poolOffset = pool.length;

function randomBytes(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    crypto.randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function newId(): string {
  let ms = Date.now();
  const rand = randomBytes(10);
  if (ms > lastMs) {
    lastMs = ms;
    counter = ((rand[0]! & 0x07) << 8) | rand[1]!; // start low in the 12-bit range, leaving room to count up
  } else {
    ms = lastMs; // the clock went back or stood still: keep the order
    counter++;
    if (counter > 0xfff) {
      lastMs = ++ms;
      counter = 0;
    }
  }
  const b = new Uint8Array(16);
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | (counter >>> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (rand[2]! & 0x3f);
  for (let i = 9; i < 16; i++) b[i] = rand[i - 6]!;
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}
