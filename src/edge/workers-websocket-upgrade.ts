import type { WebSocketPair } from '@cloudflare/workers-types/index.ts';
import { WSContext } from 'hono/ws';
import type { RealtimeTransport } from '../realtime/realtime.routes';

/**
 * WebSocket upgrades in a Worker (not a Durable Object) for routes that relay while the
 * client stays connected, such as the /mcp WebSocket. Hono's own Workers helper neither fires
 * `onOpen` nor answers a requested subprotocol (the MCP SDK asks for `mcp` and refuses a
 * server that picks none); this one does both, choosing the first subprotocol offered, as
 * Node's `ws` server does.
 */
export const workersWebSocketUpgrade: RealtimeTransport['upgrade'] = (createEvents) => async (c, next) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return next();
  const events = createEvents(c);
  const pair = new (globalThis as unknown as { WebSocketPair: typeof WebSocketPair }).WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  const protocol = c.req
    .header('sec-websocket-protocol')
    ?.split(',')
    .map((p) => p.trim())
    .find(Boolean);
  const ws = new WSContext({
    send: (data) => server.send(data as string),
    close: (code, reason) => server.close(code, reason),
    raw: server,
    get readyState() {
      return server.readyState as 0 | 1 | 2 | 3;
    },
    protocol: protocol ?? null,
    url: new URL(c.req.url),
  });
  server.accept();
  server.addEventListener('message', (event) => events.onMessage?.(event as never, ws));
  server.addEventListener('close', (event) => events.onClose?.(event as never, ws));
  server.addEventListener('error', (event) => events.onError?.(event as never, ws));
  events.onOpen?.(new Event('open'), ws);
  return new Response(null, {
    status: 101,
    headers: protocol ? { 'sec-websocket-protocol': protocol } : {},
    webSocket: client,
  } as ResponseInit);
};
