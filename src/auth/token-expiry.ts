import { decodeJwt } from 'jose';

/**
 * `exp` of an access token that was already verified, in ms since the epoch; undefined if it has
 * none. Read from the payload without checking again: a WebSocket lives no longer than this.
 */
export function tokenExpiry(token: string | undefined): number | undefined {
  try {
    const exp = token ? decodeJwt(token).exp : undefined;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
