import { HttpError } from './http-error';

export class ForbiddenError extends HttpError {
  constructor(message = 'You do not have permission to do this', details?: unknown) {
    super(403, 'forbidden', message, details);
  }
}
