import type { Context } from 'hono';
import type { AppEnv } from '../deps';

/**
 * Reads one request header (`name` in lower case), as `Headers.get` would: duplicates joined
 * with ", ". A runtime may read it more cheaply than through `c.req.header`, which on
 * @hono/node-server builds a whole undici `Headers` for the request (src/node/read-incoming-header.ts).
 */
export type ReadRequestHeader = (c: Context, name: string) => string | undefined;

export function requestHeader(c: Context<AppEnv>, name: string): string | undefined {
  const read = c.get('deps').readRequestHeader;
  return read ? read(c, name) : c.req.header(name);
}
