import { HttpError } from './http-error';

/** The account holds as much of a resource as it may; freeing some (not waiting) is what helps. */
export class QuotaExceededError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(409, 'quota_exceeded', message, details);
  }
}
