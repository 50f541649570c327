import { HttpError } from './http-error';

export class PayloadTooLargeError extends HttpError {
  constructor(message = 'Request body is larger than the limit', details?: unknown) {
    super(413, 'payload_too_large', message, details);
  }
}
