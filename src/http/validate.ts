import { zValidator } from '@hono/zod-validator';
import { resolver, uniqueSymbol } from 'hono-openapi';
import type { output, ZodError, ZodType } from 'zod';
import { BadRequestError } from '../errors/bad-request-error';
import { ValidationError } from '../errors/validation-error';

type Target = 'json' | 'query' | 'param';

const TARGET_LABEL: Record<Target, string> = { json: 'body', query: 'query string', param: 'path' };

/**
 * zod validation that throws our ValidationError so every 400 has the same shape. The schema
 * is also registered with hono-openapi, so /openapi.json documents exactly what is validated.
 */
export function validate<T extends ZodType, Tg extends Target>(target: Tg, schema: T) {
  return Object.assign(zodValidation(target, schema), { [uniqueSymbol]: { target, ...resolver(schema) } });
}

/** The 400 of a body that is not JSON at all: what `validate('json', ...)` answers (hono's validator) too. */
export function malformedJson(): BadRequestError {
  return new BadRequestError('Malformed JSON in request body');
}

function zodValidation<T extends ZodType, Tg extends Target>(target: Tg, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw invalid(target, result.error);
  });
}

/** `value` checked against `schema`, for input read by hand (a body that may be empty): the same 400 as validate. */
export function parseWith<T extends ZodType>(target: Target, schema: T, value: unknown): output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(target, result.error);
  return result.data;
}

function invalid(target: Target, error: Pick<ZodError, 'issues'>): ValidationError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.join('.'),
    code: issue.code,
    message: issue.message,
  }));
  const first = issues[0];
  const where = first?.path ? `${first.path}: ` : '';
  return new ValidationError(`Invalid ${TARGET_LABEL[target]}: ${where}${first?.message ?? 'invalid'}`, issues);
}
