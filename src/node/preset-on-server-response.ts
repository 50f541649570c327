import type { HttpBindings } from '@hono/node-server';
import { type PresetResponseHeaders, presetOnContext } from '../http/baseline-headers';

/**
 * Baseline headers written straight onto Node's ServerResponse. `writeHead` merges them with
 * the headers of whatever Response the app returns (the app's win), so JSON, raw and error
 * responses all get them, and a cheap `c.json` keeps @hono/node-server's fast path: no undici
 * `Headers` is built for the request at all. Requests without a ServerResponse (in-process
 * `app.request`, WebSocket upgrades) fall back to the portable way.
 */
export const presetOnServerResponse: PresetResponseHeaders = (c, headers, next) => {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!outgoing || outgoing.headersSent) return presetOnContext(c, headers, next);
  for (const [name, value] of headers) outgoing.setHeader(name, value);
  return next();
};
