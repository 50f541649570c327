/** The note scope used when a request carries no user id. */
export const ANONYMOUS_USER_ID = 'anonymous';

const MAX_USER_ID_LENGTH = 256;

/**
 * The user a tool call acts for, read from the request's `_meta.userId`. The platform's
 * gateway and executor set it from the authenticated user; a direct client of the
 * standalone server can put anything there, which is why that server is bound to
 * localhost (and optionally token-protected) by default. Anything that is not a
 * non-empty string or integer counts as absent.
 */
export function requestUserId(extra: { _meta?: Record<string, unknown> | undefined }): string {
  const userId = extra._meta?.userId;
  if (typeof userId === 'string' && userId.length > 0 && userId.length <= MAX_USER_ID_LENGTH) return userId;
  if (typeof userId === 'number' && Number.isSafeInteger(userId)) return String(userId);
  return ANONYMOUS_USER_ID;
}
