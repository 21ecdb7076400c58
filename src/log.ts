import pino, { type Logger } from 'pino';

/** Structured logs (JSON lines). Authorization headers and passwords never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['req.headers.authorization', '*.password', 'password', 'token'], censor: '[redacted]' },
  });
}
