/**
 * `exp` of an access token that was already verified, in ms since the epoch; undefined if it has
 * none. Read from the payload without checking again: a /ws socket lives no longer than this.
 */
export function tokenExpiry(token: string | undefined): number | undefined {
  try {
    const payload = JSON.parse(atob((token?.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
