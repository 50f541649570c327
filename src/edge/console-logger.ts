import type { Logger } from '../logging/logger';
import { redactLogFields } from '../logging/redact-log-fields';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof LEVELS)[number];

/**
 * The Logger on the edge: one JSON object per line on `console`, which Workers Logs and
 * `wrangler tail` index by field. Same fields as pino on Node (level, msg, time).
 */
export function createConsoleLogger(level: Level, base: Record<string, unknown> = {}): Logger {
  const threshold = LEVELS.indexOf(level);
  const write = (name: 'debug' | 'info' | 'warn' | 'error') => (fields: object, message?: string) => {
    if (LEVELS.indexOf(name) < threshold) return;
    const line = JSON.stringify({ level: name, time: Date.now(), ...base, ...redactLogFields(fields), msg: message });
    if (name === 'error') console.error(line);
    else if (name === 'warn') console.warn(line);
    else console.log(line);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
