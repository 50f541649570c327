/**
 * Serves an MCP server over Streamable HTTP from a Web `Request` to a `Response`, with the
 * SDK's `WebStandardStreamableHTTPServerTransport` (Web APIs only, so it also runs on the
 * edge).
 *
 * Two modes:
 * - `sessions` (default): an `initialize` POST creates a session (its own McpServer and
 *   transport) kept in a Map under the `Mcp-Session-Id` the transport generated. Later
 *   requests of that session reach the same server, so `notifications/cancelled` aborts
 *   the tool call it refers to (a client timeout stops a `sleep`), and GET opens the
 *   server-to-client SSE stream. Sessions idle longer than `sessionIdleTimeoutMs` are
 *   closed lazily on the next request (no timers, which edge runtimes restrict), DELETE
 *   ends one, and an unknown session id gets 404 so the client re-initializes (the
 *   platform's client then retries its call once). Sessions live in this isolate's memory,
 *   so use it where requests of a session reach the same process (the Node server).
 * - `stateless`: a fresh server and transport per POST, JSON responses, no session id.
 *   Works behind any load balancer and on the edge, but a cancellation cannot reach the
 *   call it cancels, and GET/DELETE answer 405.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { type Clock, systemClock } from '../clock';
import { createBuiltinMcpServer } from './create-builtin-mcp-server';
import type { NoteStore } from './note-store';

export interface McpHttpHandlerOptions {
  mode?: 'sessions' | 'stateless';
  /** Builds the server for a new session (or request, when stateless). Default: the built-in server. */
  createServer?: () => McpServer;
  /** Passed to the built-in server when `createServer` is not given. */
  notes?: NoteStore;
  clock?: Clock;
  /** Default 30 minutes. */
  sessionIdleTimeoutMs?: number;
  /** Beyond this many live sessions a new `initialize` gets 503. Default 1000. */
  maxSessions?: number;
}

export interface McpHttpHandler {
  handle(request: Request): Promise<Response>;
  /** Live sessions (always 0 when stateless). */
  readonly sessionCount: number;
  /** Closes every session, ending their open SSE streams. */
  close(): Promise<void>;
}

interface Session {
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  lastSeenMs: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_MAX_SESSIONS = 1000;

function jsonRpcErrorResponse(status: number, code: number, message: string, headers?: HeadersInit): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function createBuiltinMcpHttpHandler(options: McpHttpHandlerOptions = {}): McpHttpHandler {
  const clock = options.clock ?? systemClock;
  const createServer =
    options.createServer ?? (() => createBuiltinMcpServer({ notes: options.notes, clock: options.clock }));
  return options.mode === 'stateless' ? statelessHandler(createServer) : sessionHandler(createServer, clock, options);
}

function statelessHandler(createServer: () => McpServer): McpHttpHandler {
  return {
    sessionCount: 0,
    async handle(request) {
      if (request.method !== 'POST') {
        return jsonRpcErrorResponse(405, -32000, 'Method not allowed: this server is stateless', { allow: 'POST' });
      }
      const server = createServer();
      // JSON responses: handleRequest resolves only once every answer is in, so the
      // server can be closed right after.
      const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
      try {
        await server.connect(transport);
        return await transport.handleRequest(request);
      } finally {
        await server.close();
      }
    },
    async close() {},
  };
}

function sessionHandler(createServer: () => McpServer, clock: Clock, options: McpHttpHandlerOptions): McpHttpHandler {
  const idleTimeoutMs = options.sessionIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const sessions = new Map<string, Session>();

  function closeIdleSessions(nowMs: number): void {
    for (const [id, session] of sessions) {
      if (nowMs - session.lastSeenMs > idleTimeoutMs) {
        sessions.delete(id);
        void session.server.close().catch(() => {});
      }
    }
  }

  async function startSession(request: Request, nowMs: number): Promise<Response> {
    if (sessions.size >= maxSessions) {
      return jsonRpcErrorResponse(503, -32000, 'Too many MCP sessions; try again later', { 'retry-after': '60' });
    }
    const server = createServer();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport, lastSeenMs: nowMs });
      },
    });
    // Set before connect: the SDK chains it with its own close handling.
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request);
    // Not an initialize request (or a rejected one): no session was made, drop the server.
    if (!transport.sessionId || !sessions.has(transport.sessionId)) await server.close();
    return response;
  }

  return {
    get sessionCount() {
      return sessions.size;
    },
    async handle(request) {
      const nowMs = clock().getTime();
      closeIdleSessions(nowMs);
      const sessionId = request.headers.get('mcp-session-id');
      if (!sessionId) {
        if (request.method !== 'POST') {
          return jsonRpcErrorResponse(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
        }
        return startSession(request, nowMs);
      }
      const session = sessions.get(sessionId);
      if (!session) return jsonRpcErrorResponse(404, -32001, 'Session not found');
      session.lastSeenMs = nowMs;
      return session.transport.handleRequest(request);
    },
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((session) => session.server.close()));
    },
  };
}
