import { HttpError } from './http-error';

export class ValidationError extends HttpError {
  constructor(message = 'Request validation failed', details?: unknown) {
    super(400, 'validation_error', message, details);
  }
}
