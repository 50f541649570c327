import { redactUrlCredentials } from '../config/redact-url';

function redactedError(err: unknown): unknown {
  if (typeof err === 'string') return redactUrlCredentials(err);
  if (!err || typeof err !== 'object') return err;
  const { message, stack } = err as { message?: unknown; stack?: unknown };
  const copy: Record<string, unknown> = { ...err };
  if (typeof message === 'string') copy.message = redactUrlCredentials(message);
  if (typeof stack === 'string') copy.stack = redactUrlCredentials(stack);
  return copy;
}

/**
 * A log line's fields with the userinfo of every URL quoted in its error (`err`, `error`)
 * removed: a driver's or a transport's message may quote the URL it was given. Both loggers
 * (pino on Node, console on the edge) apply it to every line; lines without an error field
 * are returned as they are.
 */
export function redactLogFields<T extends object>(fields: T): T {
  const { err, error } = fields as { err?: unknown; error?: unknown };
  if (err === undefined && error === undefined) return fields;
  const copy = { ...fields } as Record<string, unknown>;
  if (err !== undefined) copy.err = redactedError(err);
  if (error !== undefined) copy.error = redactedError(error);
  return copy as T;
}
