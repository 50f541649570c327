import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { RuntimeBodyReader } from '../mcp-gateway/request-reader';

/**
 * A request's body read straight from Node's IncomingMessage (`c.env.incoming` on
 * @hono/node-server), not through the Web `Request`, whose undici Request and web streams cost
 * the /mcp gateway more than relaying the call does. Only while nothing else has touched the
 * stream: once the Web `Request` has started reading it (a body-limit middleware that counted
 * the bytes of a chunked body...), the body is left to it and this returns undefined. The size
 * limit is the app's (its body guard runs first; a declared Content-Length bounds what Node reads).
 */
export const readIncomingBody: RuntimeBodyReader = (env) => {
  const incoming = (env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming || incoming.readableFlowing !== null || incoming.readableDidRead) return undefined;
  const text = (chunks: Buffer[]) =>
    (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
  // The whole body is here (a small POST comes with its headers): take it now rather than wait for
  // 'end', which comes only after the parser reports the message complete and a few ticks more.
  if (incoming.complete || bufferedInFull(incoming)) {
    const chunks: Buffer[] = [];
    for (let chunk = incoming.read(); chunk !== null; chunk = incoming.read()) chunks.push(chunk);
    return Promise.resolve(text(chunks));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => resolve(text(chunks)));
    incoming.once('error', reject);
  });
};

/** Every byte the Content-Length announced is buffered (the parser may not have said "complete" yet). */
function bufferedInFull(incoming: IncomingMessage): boolean {
  const declared = incoming.headers['content-length'];
  return declared !== undefined && incoming.readableLength === Number(declared);
}
