import pino from 'pino';
import type { Logger } from '../logging/logger';
import { redactLogFields } from '../logging/redact-log-fields';

// Belt and braces: even if a secret-bearing field is ever logged by mistake, pino masks it.
const REDACT = [
  'password',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.authorization',
  'headers.authorization',
];

export function createNodeLogger(level: string, destination?: pino.DestinationStream): Logger & pino.Logger {
  return pino(
    {
      level,
      base: { service: 'workflow-platform' },
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { log: redactLogFields },
    },
    destination,
  );
}

/**
 * Stdout for production: lines collect in memory and go out in writes of 4 KiB or more, at least
 * every quarter second, instead of one synchronous write(2) per line (which a busy API paid per
 * request). pino flushes what is left synchronously when the process exits (process.exit after
 * a SIGTERM drain, an uncaught exception), so only a SIGKILL can lose the last quarter second.
 */
export function bufferedStdout(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
}
