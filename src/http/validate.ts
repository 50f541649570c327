import { zValidator } from '@hono/zod-validator';
import { resolver, uniqueSymbol } from 'hono-openapi';
import type { ZodType } from 'zod';
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

function zodValidation<T extends ZodType, Tg extends Target>(target: Tg, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const issues = result.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        code: issue.code,
        message: issue.message,
      }));
      const first = issues[0];
      const where = first?.path ? `${first.path}: ` : '';
      throw new ValidationError(`Invalid ${TARGET_LABEL[target]}: ${where}${first?.message ?? 'invalid'}`, issues);
    }
  });
}
