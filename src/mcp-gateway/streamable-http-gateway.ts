import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { HttpSessionTransport } from './http-session-transport';
import { isRecord, isRequestMessage, toJsonRpcMessage } from './json-rpc';
import type { GatewaySession, McpGateway } from './mcp-gateway';
import { type RequestReader, webRequestReader } from './request-reader';

/** A client-side problem the route renders as its usual JSON error (404 unknown session, 400...). */
export class McpHttpRequestError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'McpHttpRequestError';
  }
}

interface HttpSession {
  userId: string;
  transport: HttpSessionTransport;
  session: GatewaySession;
}

export type McpHttpMode = 'sessions' | 'stateless';

function methodOf(message: unknown): unknown {
  return isRecord(message) ? message.method : undefined;
}

/** The SDK's `isJSONRPCRequest`, without its zod parse. */
function isRequest(message: unknown): boolean {
  const valid = toJsonRpcMessage(message);
  return valid !== undefined && isRequestMessage(valid);
}

function jsonRpcErrorResponse(status: number, code: number, message: string, headers?: HeadersInit): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status, headers });
}

/**
 * The Streamable HTTP face of the gateway (`POST|GET|DELETE /mcp`), on the SDK's
 * web-standard server transport (sessions: wrapped in `HttpSessionTransport`, which serves
 * their ordinary POSTs itself).
 *
 * - `sessions` mode: an `initialize` POST opens a gateway session (and its upstream
 *   session) under a new `Mcp-Session-Id`; later requests with that id reach it, GET opens
 *   its SSE stream for server messages, DELETE ends it. A session belongs to the user who
 *   opened it: anyone else's requests with its id get 404, as do ids this instance does not
 *   hold (expired, or opened on another instance), which tells MCP clients to initialize again.
 *   Requests are answered with plain JSON, not an SSE stream per POST: one write instead of
 *   several, which is most of the cost of a relayed call. Server-initiated messages
 *   (progress, logs, sampling requests, list changes) go on the session's GET stream,
 *   which the official SDK clients keep open.
 * - A POST without `Mcp-Session-Id` that is not an `initialize` is served statelessly:
 *   the gateway opens an upstream session just for it, initializes it, forwards the
 *   request(s), answers with JSON and closes the upstream session. This serves clients that
 *   keep no session, on any instance.
 * - `stateless` mode: every POST is served that way, `initialize` included (no session id
 *   is issued; GET and DELETE answer 405), for load balancers without session affinity.
 */
export class StreamableHttpGateway {
  private readonly sessions = new Map<string, HttpSession>();

  constructor(
    private readonly gateway: McpGateway,
    private readonly mode: McpHttpMode = 'sessions',
  ) {}

  /** Streamable HTTP sessions held here. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Serves one authenticated request, reading its headers and body through `read`. Throws
   * McpSessionLimitError, McpUnavailableError or McpHttpRequestError.
   */
  async handle(request: Request, userId: string, read: RequestReader = webRequestReader(request)): Promise<Response> {
    const sessionId = read.header('mcp-session-id');
    if (sessionId && this.mode === 'sessions') {
      const held = this.sessions.get(sessionId);
      // Someone else's session is reported exactly like a missing one.
      if (!held || held.userId !== userId) throw new McpHttpRequestError(404, 'MCP session not found');
      if (request.method === 'DELETE') await held.session.relay.answerPending('The client ended the session');
      return held.transport.handleRequest(request, { read });
    }
    if (request.method !== 'POST') {
      if (this.mode === 'stateless') {
        return jsonRpcErrorResponse(405, -32000, 'Method not allowed: stateless gateway', { allow: 'POST' });
      }
      throw new McpHttpRequestError(400, 'Mcp-Session-Id header is required');
    }
    const contentType = read.header('content-type') ?? '';
    // The SDK transport answers a wrong media type (415) or Accept header (406) its usual way.
    if (!/^application\/json\b/i.test(contentType)) {
      return new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true }).handleRequest(request);
    }
    let body: unknown;
    try {
      body = JSON.parse(await read.text());
    } catch {
      return jsonRpcErrorResponse(400, -32700, 'Parse error: invalid JSON');
    }
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    // The method first: the SDK's guards are zod parses, and a failing one is costly.
    const initialize = messages.some((message) => methodOf(message) === 'initialize' && isInitializeRequest(message));
    if (initialize && this.mode === 'sessions') return this.startSession(request, body, userId);
    if (!messages.some(isRequest)) {
      // Only notifications or responses, and no session they could belong to: nothing to forward.
      return new Response(null, { status: 202 });
    }
    return this.serveStateless(request, body, !initialize, userId);
  }

  /** Closes every session held here. */
  async close(): Promise<void> {
    const held = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(held.map(({ session }) => session.close('shutdown')));
  }

  private async startSession(request: Request, body: unknown, userId: string): Promise<Response> {
    let registered = false;
    const transport: HttpSessionTransport = new HttpSessionTransport({
      onsessioninitialized: (id) => {
        registered = true;
        this.sessions.set(id, { userId, transport, session });
      },
    });
    const session = await this.gateway.open({
      userId,
      client: transport,
      kind: 'streamable-http',
      relatesMessages: false,
      answersCancelledRequests: true,
      onClose: () => {
        if (transport.sessionId) this.sessions.delete(transport.sessionId);
      },
    });
    const response = await transport.handleRequest(request, { parsedBody: body });
    // Rejected by the transport (bad Accept header...): no session came of it.
    if (!registered) await session.close('done');
    return response;
  }

  private async serveStateless(request: Request, body: unknown, handshake: boolean, userId: string): Promise<Response> {
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    const session = await this.gateway.open({
      userId,
      client: transport,
      kind: 'stateless',
      handshake,
      answersCancelledRequests: true,
    });
    try {
      // With JSON responses this resolves once every request in the body is answered.
      return await transport.handleRequest(request, { parsedBody: body });
    } finally {
      await session.close('done');
    }
  }
}
