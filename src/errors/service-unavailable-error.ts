import { HttpError } from './http-error';

export class ServiceUnavailableError extends HttpError {
  /** `details.retryAfterSeconds`, when given, is also sent as `Retry-After`. */
  constructor(message = 'Service unavailable', details?: unknown) {
    const retryAfter = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    const headers = typeof retryAfter === 'number' ? { 'Retry-After': String(retryAfter) } : undefined;
    super(503, 'service_unavailable', message, details, headers);
  }
}
