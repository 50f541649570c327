import { HttpError } from './http-error';

export class ServiceUnavailableError extends HttpError {
  constructor(message = 'Service unavailable', details?: unknown) {
    super(503, 'service_unavailable', message, details);
  }
}
