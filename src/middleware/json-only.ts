import { createMiddleware } from 'hono/factory';
import { UnsupportedMediaTypeError } from '../errors/unsupported-media-type-error';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** A request that carries a body must declare it as JSON; an empty body needs no type. */
export function jsonOnly(options: { except?: (path: string) => boolean } = {}) {
  return createMiddleware(async (c, next) => {
    if (METHODS_WITH_BODY.has(c.req.method) && !options.except?.(c.req.path)) {
      const contentType = c.req.header('content-type');
      const mediaType = contentType?.split(';')[0]?.trim() ?? '';
      if (hasBody(c.req.raw, contentType) && !JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaTypeError();
    }
    await next();
  });
}

/** Length headers decide; without them (in-process requests) a typed body counts as a body. */
function hasBody(req: Request, contentType: string | undefined): boolean {
  const length = req.headers.get('content-length');
  if (length !== null) return length !== '0';
  if (req.headers.has('transfer-encoding')) return true;
  return req.body !== null && contentType !== undefined;
}
