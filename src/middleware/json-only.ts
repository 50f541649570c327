import { createMiddleware } from 'hono/factory';
import { UnsupportedMediaTypeError } from '../errors/unsupported-media-type-error';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** A request that carries a body must declare it as JSON; an empty body needs no type. */
export function jsonOnly(options: { except?: (path: string) => boolean } = {}) {
  return createMiddleware(async (c, next) => {
    if (METHODS_WITH_BODY.has(c.req.method) && !options.except?.(c.req.path)) {
      const length = c.req.header('content-length');
      const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
      const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
      if (hasBody && !JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaTypeError();
    }
    await next();
  });
}
