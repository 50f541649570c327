import { HttpError } from './http-error';

export class NotFoundError extends HttpError {
  constructor(message = 'Not found', details?: unknown) {
    super(404, 'not_found', message, details);
  }
}
