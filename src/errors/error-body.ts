import * as z from 'zod';

/** The body of every error the API answers itself. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code, e.g. `validation_error`, `not_found`'),
    message: z.string(),
    details: z.unknown().optional().describe('For 400: the zod issues `[{path, code, message}]`'),
  }),
});

export type ErrorBody = z.infer<typeof errorBodySchema>;

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
