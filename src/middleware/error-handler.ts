import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable } from '../db/database-unavailable';
import type { AppEnv } from '../deps';
import { errorBody } from '../errors/error-body';
import { HttpError } from '../errors/http-error';

const CODE_FOR_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/** The one place errors become responses. Unknown errors are logged in full and answered blandly. */
export function renderError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof HttpError) {
    const res = c.json(errorBody(err.code, err.message, err.details), err.status);
    for (const [name, value] of Object.entries(err.headers ?? {})) res.headers.set(name, value);
    return res;
  }
  if (err instanceof HTTPException && err.status < 500) {
    const status = err.status as ContentfulStatusCode;
    return c.json(errorBody(CODE_FOR_STATUS[status] ?? 'bad_request', err.message || 'Bad request'), status);
  }
  if (isDatabaseUnavailable(err)) {
    c.get('deps')?.logger.error({ requestId: c.get('requestId'), err: describeError(err) }, 'database unavailable');
    return c.json(errorBody('service_unavailable', 'The database is unavailable, try again shortly'), 503, {
      'Retry-After': '5',
    });
  }
  c.get('deps')?.logger.error(
    { requestId: c.get('requestId'), err: describeError(err) },
    'unhandled error',
  );
  return c.json(errorBody('internal_error', 'Internal server error'), 500);
}

/**
 * What an unexpected error contributes to the log. drizzle's query errors carry the SQL
 * parameters in their message (which may include hashes or tokens), so for those only the
 * driver's own cause is kept.
 */
function describeError(err: Error) {
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  if ('params' in err && 'query' in err) {
    return { name: err.name, message: `query failed: ${cause?.message ?? 'unknown'}`, code: cause?.code };
  }
  return { name: err.name, message: err.message, code: (err as { code?: string }).code, stack: err.stack };
}
