import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PayloadTooLargeError } from '../errors/payload-too-large-error';
import { UnsupportedMediaTypeError } from '../errors/unsupported-media-type-error';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Request bodies: at most `maxBytes` (413), and declared as JSON (415) unless `acceptsAnyType`
 * says the path takes other types. GET and HEAD pass untouched: they never carry a body on the
 * runtimes we serve, and merely asking for `c.req.raw.body` (as bodyLimit does) makes
 * @hono/node-server build a full undici Request for every request.
 */
export function bodyGuard(options: { maxBytes: number; acceptsAnyType?: (path: string) => boolean }): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(`Request body is larger than ${options.maxBytes} bytes`);
    },
  });
  return (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    return limit(c, async () => {
      if (METHODS_WITH_BODY.has(method) && !options.acceptsAnyType?.(c.req.path)) {
        const contentType = c.req.header('content-type');
        const mediaType = contentType?.split(';')[0]?.trim() ?? '';
        if (hasBody(c.req.raw, contentType) && !JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaTypeError();
      }
      await next();
    });
  };
}

/** Length headers decide; without them (in-process requests) a typed body counts as a body. */
function hasBody(req: Request, contentType: string | undefined): boolean {
  const length = req.headers.get('content-length');
  if (length !== null) return length !== '0';
  if (req.headers.has('transfer-encoding')) return true;
  return req.body !== null && contentType !== undefined;
}
