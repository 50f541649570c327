import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../deps';
import { PayloadTooLargeError } from '../errors/payload-too-large-error';
import { UnsupportedMediaTypeError } from '../errors/unsupported-media-type-error';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Request bodies: at most `maxBytes` (413), and declared as JSON (415) unless `acceptsAnyType`
 * says the path takes other types.
 *
 * Decided from the headers whenever they can decide, as hono's `bodyLimit` itself does: a
 * Content-Length without Transfer-Encoding is the body's size (the runtime enforces the
 * framing). Only a body of unknown length is counted as it streams in. Asking for
 * `c.req.raw.body` at all makes @hono/node-server build a full undici Request, so GET, HEAD and
 * bodies of known length never do.
 */
export function bodyGuard(options: {
  maxBytes: number;
  acceptsAnyType?: (path: string) => boolean;
}): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    throw new PayloadTooLargeError(`Request body is larger than ${options.maxBytes} bytes`);
  };
  const countStreamedBody = bodyLimit({ maxSize: options.maxBytes, onError: tooLarge });
  return (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const chunked = c.req.header('transfer-encoding') !== undefined;
    const length = chunked ? undefined : c.req.header('content-length');
    if (length !== undefined && Number.parseInt(length, 10) > options.maxBytes) tooLarge();
    if (METHODS_WITH_BODY.has(method) && !options.acceptsAnyType?.(c.req.path)) {
      const contentType = c.req.header('content-type');
      // Without length headers (in-process requests) a typed body counts as a body.
      const hasBody =
        length !== undefined ? length !== '0' : chunked || (contentType !== undefined && c.req.raw.body !== null);
      const mediaType = contentType?.split(';')[0]?.trim() ?? '';
      if (hasBody && !JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaTypeError();
    }
    return length !== undefined ? next() : countStreamedBody(c, next);
  };
}
