/**
 * URLs as they may be shown: in /health, error messages, stored run errors and logs. A URL's
 * userinfo (`user:password@`) is a credential (MCP_URL, DATABASE_URL, REDIS_URL may carry one),
 * and so may its query (`?token=` for a WebSocket upstream) and fragment.
 */

/** The URL without userinfo, query or fragment. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparseable URL]';
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

// scheme://userinfo@ — userinfo runs up to the last `@` before the host's end (a raw `@` in a
// password is still part of it).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;

/** Text that may quote URLs (a driver's or a transport's error message) with every URL's userinfo removed. */
export function redactUrlCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_USERINFO, '$1') : text;
}
