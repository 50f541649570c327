import { HttpError } from './http-error';

export class UnauthorizedError extends HttpError {
  /** `headers`: e.g. the `WWW-Authenticate` challenge of the resource. */
  constructor(message = 'Authentication required', details?: unknown, headers?: Record<string, string>) {
    super(401, 'unauthorized', message, details, headers);
  }
}
