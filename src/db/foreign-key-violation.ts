const FOREIGN_KEY_VIOLATION = '23503';

/** True for a Postgres foreign-key error from postgres.js or PGlite, wrapped by drizzle or not. */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) return true;
  }
  return false;
}
