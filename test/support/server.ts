import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../src/db/knex';

/** The repository root, whether this file runs from test/ (jest) or from dist/test/ (compiled). */
const ROOT = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

/** The compiled CLI (`npm run build` puts it there). */
export const ROSTER_MAIN = path.join(ROOT, 'dist/src/main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Runs the roster CLI to completion and returns its stdout. */
export async function roster(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ROSTER_MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`roster ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

export interface RunningServer {
  url: string;
  port: number;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts `roster serve` as a separate process and waits until it answers. */
export async function startServer(env: NodeJS.ProcessEnv, extraArgs: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [...extraArgs, ROSTER_MAIN, 'serve'], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`roster serve exited ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`roster serve did not answer within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    process: child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export function tempSqliteUrl(prefix: string): { url: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { url: `sqlite:${path.join(dir, 'roster.db')}`, dir };
}

/**
 * A database of its own for the servers one test file starts: a fresh PostgreSQL database when
 * DATABASE_URL names PostgreSQL (a started server is another process, so a schema of the test's own
 * would not reach it), else a fresh SQLite file. `drop` removes it.
 */
export async function freshDatabase(prefix: string): Promise<{ url: string; postgres: boolean; drop: () => Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (base && /^postgres(ql)?:\/\//.test(base)) {
    const name = `roster_${prefix}_${crypto.randomBytes(4).toString('hex')}`;
    const admin = openDb(base, { poolMax: 1 });
    await admin.knex.raw(`create database ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      postgres: true,
      drop: async () => {
        await admin.knex.raw(`drop database if exists ${name} with (force)`);
        await admin.close();
      },
    };
  }
  const tmp = tempSqliteUrl(`roster-${prefix}-`);
  return { url: tmp.url, postgres: false, drop: () => Promise.resolve(fs.rmSync(tmp.dir, { recursive: true, force: true })) };
}
