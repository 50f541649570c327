import type { Context } from 'hono';

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * The headers every response carries unless its handler sets its own: the set the OWASP REST
 * Security Cheat Sheet gives for an API (no caching of tokens or user data, no framing, no
 * MIME sniffing, HTTPS only), plus CORP against cross-origin no-cors reads and `Vary: Origin`
 * because CORS answers differ by Origin. Headers meant for HTML documents (COOP, Referrer-Policy,
 * X-XSS-Protection, …) are left to the two HTML pages that need them; each header costs every
 * response its bytes and its validation.
 */
export const BASELINE_RESPONSE_HEADERS: HeaderList = [
  ['Cache-Control', 'no-store'],
  ['Content-Security-Policy', "frame-ancestors 'none'"],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Vary', 'Origin'],
];

/**
 * Makes `headers` the defaults of the response to `c`'s request, then runs `next`; a header the
 * handler sets itself wins. Prepared headers, which `c.json`/`c.body` build their response with;
 * a handler that returns a raw `Response` skips them and gets the missing ones afterwards.
 */
export async function withBaselineHeaders(c: Context, headers: HeaderList, next: () => Promise<void>): Promise<void> {
  for (const [name, value] of headers) c.header(name, value);
  await next();
  const res = c.res;
  if (isUpgrade(res)) return;
  for (const [name, value] of headers) if (!res.headers.has(name)) res.headers.set(name, value);
}

/** A 101 response's headers are immutable on Workers: nothing may touch them. */
export function isUpgrade(res: Response): boolean {
  return res.status === 101 || (res as Response & { webSocket?: unknown }).webSocket != null;
}
