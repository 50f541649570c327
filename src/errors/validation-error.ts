import { HttpError } from './http-error';

/** One problem of a refused request: where (`steps.0.tool`, empty for the whole body), a stable code, and what. */
export interface ValidationIssue {
  path: string;
  code: string;
  message: string;
}

/** A 400 `validation_error`; `details`, when present, is always a list of `{path, code, message}`. */
export class ValidationError extends HttpError {
  constructor(message = 'Request validation failed', details?: readonly ValidationIssue[]) {
    super(400, 'validation_error', message, details);
  }
}
