import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createAdaptorServer } from '@hono/node-server';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../clock';
import { createBuiltinMcpServer } from '../mcp-server/create-builtin-mcp-server';
import { createBuiltinMcpHttpHandler } from '../mcp-server/http-handler';
import type { NoteStore } from '../mcp-server/note-store';
import { WebSocketServerTransport } from './ws-server-transport';

export interface McpServerProcessOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** When set, `/mcp` and `/ws` require `Authorization: Bearer <token>` (on `/ws` also `?token=`). */
  authToken?: string;
  notes?: NoteStore;
  clock?: Clock;
  /** Ping interval for WebSocket clients; one that misses a ping is dropped. Default 30 s. */
  wsHeartbeatMs?: number;
}

export interface RunningMcpServer {
  /** Streamable HTTP endpoint, e.g. http://127.0.0.1:4100/mcp */
  url: string;
  /** WebSocket endpoint, e.g. ws://127.0.0.1:4100/ws */
  wsUrl: string;
  port: number;
  /** Closes every MCP session and connection, then the listener. */
  close(): Promise<void>;
}

const MAX_WS_FRAME_BYTES = 4 * 1024 * 1024;

function bearerMatches(expected: string, presented: string | null | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return match?.[1]?.trim();
}

function jsonResponse(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Runs the built-in MCP server on its own: Streamable HTTP at `/mcp`, WebSocket at `/ws`
 * (one JSON-RPC message per frame, subprotocol `mcp`), and `/health`. Every HTTP session
 * and WebSocket connection gets its own McpServer; all share one note store.
 */
export async function startMcpServer(options: McpServerProcessOptions): Promise<RunningMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const { authToken } = options;
  const notes = options.notes;
  const httpHandler = createBuiltinMcpHttpHandler({ notes, clock: options.clock });

  const server = createAdaptorServer({
    hostname: host,
    fetch: async (request: Request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/health') return Response.json({ status: 'ok' });
      if (pathname !== '/mcp') return jsonResponse(404, 'not_found', 'Not found: use /mcp or /ws');
      if (authToken && !bearerMatches(authToken, bearerToken(request.headers.get('authorization')))) {
        return jsonResponse(401, 'unauthorized', 'Missing or invalid bearer token');
      }
      return httpHandler.handle(request);
    },
  });

  // Tracked so close() can destroy them (open SSE streams and keep-alive connections
  // would hold the listener open) and resolve only once they are gone.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_FRAME_BYTES,
    // Clients that ask for a subprotocol get `mcp` or nothing; clients that ask for none are accepted too.
    handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
  });
  const liveness = new WeakMap<WebSocket, boolean>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'Not Found');
    if (authToken) {
      const presented = bearerToken(req.headers.authorization) ?? url.searchParams.get('token');
      if (!bearerMatches(authToken, presented)) return rejectUpgrade(socket, 401, 'Unauthorized');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    liveness.set(ws, true);
    ws.on('pong', () => liveness.set(ws, true));
    const mcpServer = createBuiltinMcpServer({ notes, clock: options.clock });
    mcpServer.connect(new WebSocketServerTransport(ws)).catch(() => ws.terminate());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!liveness.get(ws)) {
        ws.terminate();
        continue;
      }
      liveness.set(ws, false);
      ws.ping();
    }
  }, options.wsHeartbeatMs ?? 30_000);
  heartbeat.unref();
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await httpHandler.close();
      const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      wss.close();
      for (const ws of wss.clients) ws.terminate();
      const socketsClosed = [...sockets].map(
        (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()).destroy()),
      );
      await Promise.all([listenerClosed, ...socketsClosed]);
    })();
    return closing;
  };

  return { url: `http://${authority}/mcp`, wsUrl: `ws://${authority}/ws`, port, close };
}
