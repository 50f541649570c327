import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * Base of every error the API renders on purpose. `onError` turns it into
 * `{"error": {code, message, details?}}` with `status`; anything else becomes a 500.
 */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
