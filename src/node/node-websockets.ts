import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerType } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import type { Hono } from 'hono';
import type { WebSocket } from 'ws';
import type { AppEnv } from '../deps';
import { errorBody } from '../errors/error-body';
import type { Logger } from '../logging/logger';
import type { McpWebSocketTransport } from '../mcp-gateway/mcp-websocket.routes';
import type { RealtimeTransport } from '../realtime/realtime.routes';

/**
 * Frames above this are refused by `ws` itself (close 1009) before they are buffered whole;
 * between 64 KiB and this the session answers an error event and keeps the connection.
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

const SEC_WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
const TEXT_FRAME = { binary: false };

/**
 * A publish reaches every subscriber with the very same string, one after the other: keeping the
 * last encoding spares `ws` a byte count and a UTF-8 encode per socket. Buffers are never
 * mutated by a server-side send (no masking), so one can go to many sockets.
 */
let lastText: string | undefined;
let lastBytes: Buffer = Buffer.alloc(0);
function encodeOnce(text: string): Buffer {
  if (text !== lastText) {
    lastBytes = Buffer.from(text, 'utf8');
    lastText = text;
  }
  return lastBytes;
}

export interface NodeWebSockets extends McpWebSocketTransport {
  /**
   * Routes the HTTP server's `upgrade` requests through the app (built with these WebSockets as
   * `deps.webSockets`). One listener serves every WebSocket route, so any other route that
   * upgrades must use this `upgrade` too.
   */
  attach(server: ServerType, app: Hono<AppEnv>): void;
}

/**
 * WebSocket upgrades on Node with @hono/node-ws. node-ws supplies `upgradeWebSocket` and the
 * `ws` server; the `upgrade` listener here replaces its `injectWebSocket` so that
 * - a refused upgrade gets the app's real response (JSON 401 body, headers), not an empty one;
 * - a socket reset while the token is being verified cannot crash the process (Node removes its
 *   own `error` listener from upgrade sockets);
 * - a malformed handshake is refused before the app runs (node-ws would keep its pending entry
 *   for a request `ws` then rejects).
 */
export function createNodeWebSockets(logger?: Logger): NodeWebSockets {
  // node-ws reads `app` only in its injectWebSocket, which `attach` replaces.
  const nodeWs = createNodeWebSocket({ app: undefined as never });
  nodeWs.wss.options.maxPayload = MAX_FRAME_BYTES;
  // node-ws answers a request it upgrades with a placeholder 200; remember which requests that was.
  const accepted = new WeakSet<IncomingMessage>();

  const upgrade: RealtimeTransport['upgrade'] = (createEvents) => {
    // node-ws reports exceptions from event handlers (and, on Node 20 without a global
    // ErrorEvent, socket errors) here instead of console.error; the close event still follows.
    const inner = nodeWs.upgradeWebSocket(createEvents as never, {
      onError: (error: unknown) =>
        logger?.debug({ err: { message: (error as Error)?.message ?? String(error) } }, 'websocket event error'),
    });
    return async (c, next) => {
      const response = await inner(c, next);
      if (response instanceof Response) accepted.add((c.env as { incoming: IncomingMessage }).incoming);
      return response;
    };
  };

  async function handleUpgrade(
    app: Hono<AppEnv>,
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (!isWebSocketHandshake(request)) {
      await writeResponse(
        socket,
        Response.json(errorBody('bad_request', 'Malformed WebSocket handshake'), { status: 400 }),
      );
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const response = await app.request(
      url,
      { method: request.method, headers },
      { incoming: request, outgoing: undefined },
    );
    if (!accepted.has(request)) {
      await writeResponse(socket, response);
      return;
    }
    nodeWs.wss.handleUpgrade(request, socket, head, (ws) => nodeWs.wss.emit('connection', ws, request));
  }

  return {
    upgrade,
    nativeSocket(ws, onPong) {
      const raw = ws.raw as WebSocket;
      raw.on('pong', onPong);
      return {
        // Straight to `ws`, as UTF-8 encoded once per fan-out rather than once per subscriber.
        send: (text) => raw.send(encodeOnce(text), TEXT_FRAME),
        ping: () => raw.ping(),
        terminate: () => raw.terminate(),
        bufferedAmount: () => raw.bufferedAmount,
        pause: () => raw.pause(),
        resume: () => raw.resume(),
      };
    },
    flowControl(ws) {
      const raw = ws.raw as WebSocket;
      return {
        bufferedAmount: () => raw.bufferedAmount,
        pause: () => raw.pause(),
        resume: () => raw.resume(),
      };
    },
    attach(server, app) {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        handleUpgrade(app, request, socket, head).catch((error) => {
          logger?.error({ err: { message: (error as Error)?.message } }, 'websocket upgrade failed');
          socket.destroy();
        });
      });
    },
  };
}

function isWebSocketHandshake(request: IncomingMessage): boolean {
  const version = request.headers['sec-websocket-version'];
  return (
    request.method === 'GET' &&
    request.headers.upgrade?.toLowerCase() === 'websocket' &&
    SEC_WEBSOCKET_KEY.test(request.headers['sec-websocket-key'] ?? '') &&
    (version === '13' || version === '8')
  );
}

/** Writes a whole HTTP/1.1 response on a socket that was never handed to `ws`, then closes it. */
async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding')
      lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), body]));
}
