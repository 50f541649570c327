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
