import { HttpError } from './http-error';

export class UnauthorizedError extends HttpError {
  constructor(message = 'Authentication required', details?: unknown) {
    super(401, 'unauthorized', message, details);
  }
}
