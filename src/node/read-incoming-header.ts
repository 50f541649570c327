import type { HttpBindings } from '@hono/node-server';
import type { ReadRequestHeader } from '../http/request-header';

/**
 * A header straight from Node's IncomingMessage. `rawHeaders` rather than `headers`: Node keeps
 * only the first of some duplicated headers (Authorization among them) where `Headers.get`
 * joins them all, and the app must see what the portable path sees.
 */
export const readIncomingHeader: ReadRequestHeader = (c, name) => {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const raw = incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) {
      const next = raw[i + 1] as string;
      value = value === undefined ? next : `${value}, ${next}`;
    }
  }
  return value;
};
