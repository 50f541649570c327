import { HttpError } from './http-error';

export class UnsupportedMediaTypeError extends HttpError {
  constructor(message = 'Request body must be application/json', details?: unknown) {
    super(415, 'unsupported_media_type', message, details);
  }
}
