import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { PatchOperation } from './patch';

/**
 * What Roster does with the passwords identity providers push (SCIM_PASSWORDS): `drop` (the default)
 * stores nothing; `scrypt` stores a salted scrypt hash, for a platform that signs people in itself.
 * Either way a password is never returned, logged or written to the sync log.
 */
export type PasswordPolicy = 'drop' | 'scrypt';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;
/** OWASP's scrypt parameters (2^17 = 128 MiB would be theirs for a login service; this is one per push). */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAXMEM = 64 * 1024 * 1024;

/** `scrypt$N$r$p$salt$key` (salt and key base64url): the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, KEY_BYTES, { N, r: R, p: P, maxmem: MAXMEM });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `password` is the one behind `stored` (a hashPassword result), in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: MAXMEM });
  return crypto.timingSafeEqual(actual, expected);
}

const isPassword = (key: string) => key.toLowerCase() === 'password' || key.toLowerCase().endsWith(':password');

/** The password of a POST or PUT body, if it has one. */
export function passwordOfBody(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const entry = Object.entries(body).find(([k]) => isPassword(k));
  return typeof entry?.[1] === 'string' && entry[1] !== '' ? entry[1] : undefined;
}

/** What a PATCH does to the password: a new one, null (removed), or undefined (left alone). */
export function passwordOfPatch(ops: PatchOperation[]): string | null | undefined {
  let result: string | null | undefined;
  for (const op of ops) {
    if (op.path !== undefined) {
      if (!isPassword(op.path.trim())) continue;
      if (op.op === 'remove') result = null;
      else if (typeof op.value === 'string' && op.value !== '') result = op.value;
    } else if (op.op !== 'remove') {
      const found = passwordOfBody(op.value);
      if (found !== undefined) result = found;
    }
  }
  return result;
}

/** The hash to store for what a request says of the password (undefined: leave it as it is). */
export async function passwordHashFor(policy: PasswordPolicy, password: string | null | undefined): Promise<string | null | undefined> {
  if (policy === 'drop' || password === undefined) return undefined;
  return password === null ? null : hashPassword(password);
}
