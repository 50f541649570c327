import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpUnavailableError } from '../mcp/errors';
import { HttpSessionTransport } from './http-session-transport';
import { isNotificationMessage, isRecord, isRequestMessage, RpcErrorCode, toJsonRpcMessage } from './json-rpc';
import type { GatewaySession, McpGateway } from './mcp-gateway';
import { StatelessHttpTransport } from './stateless-http-transport';
import { acceptsJsonAndEventStream, isJsonMediaType } from './streamable-http-headers';

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

function jsonRpcErrorResponse(status: number, code: number, message: string, headers?: HeadersInit): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status, headers });
}

/** What a stateless request may be cancelled by: the same user's `notifications/cancelled` naming its id. */
function inFlightKey(userId: string, id: RequestId): string {
  return `${userId}\n${typeof id}:${id}`;
}

/**
 * The Streamable HTTP face of the gateway (`POST|GET|DELETE /mcp`).
 *
 * - `sessions` mode: an `initialize` POST opens a gateway session (and its upstream
 *   session) under a new `Mcp-Session-Id`; later requests with that id reach it, GET opens
 *   (or resumes) its SSE stream for server messages, DELETE ends it. A session belongs to the
 *   user who opened it: anyone else's requests with its id get 404, as do ids this instance
 *   does not hold (expired, or opened on another instance), which tells MCP clients to
 *   initialize again. Requests are answered as HttpSessionTransport describes: on an SSE stream
 *   of their own where the upstream streams (so progress and the like come before the
 *   answer), with plain JSON where nothing related can follow.
 * - A POST without `Mcp-Session-Id` that is not an `initialize` is served statelessly:
 *   the gateway opens an upstream session just for it, initializes it, forwards the
 *   request, answers it and closes the upstream session. This serves clients that keep no
 *   session, on any instance. The upstream's requests to the client (sampling, elicitation)
 *   are refused at once (there is no session to answer them on); a `notifications/cancelled`
 *   POSTed the same way by the same user reaches the request it names.
 * - `stateless` mode: every POST is served that way, `initialize` included (no session id
 *   is issued; GET and DELETE answer 405), for load balancers without session affinity.
 */
export class StreamableHttpGateway {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly inFlight = new Map<string, StatelessHttpTransport>();

  constructor(
    private readonly gateway: McpGateway,
    private readonly mode: McpHttpMode = 'sessions',
  ) {}

  /** Serves one authenticated request. Throws McpSessionLimitError, McpUnavailableError or McpHttpRequestError. */
  async handle(request: Request, userId: string): Promise<Response> {
    const { headers } = request;
    const sessionId = headers.get('mcp-session-id');
    if (sessionId && this.mode === 'sessions') {
      const held = this.sessions.get(sessionId);
      // Someone else's session is reported exactly like a missing one.
      if (!held || held.userId !== userId) throw new McpHttpRequestError(404, 'MCP session not found');
      if (request.method === 'DELETE') await held.session.relay.answerPending('The client ended the session');
      return held.transport.handleRequest(request);
    }
    if (request.method !== 'POST') {
      if (this.mode === 'stateless') {
        return jsonRpcErrorResponse(405, -32000, 'Method not allowed: stateless gateway', { allow: 'POST' });
      }
      throw new McpHttpRequestError(400, 'Mcp-Session-Id header is required');
    }
    // The SDK transport answers a wrong media type (415) or Accept header (406) its usual way.
    if (!isJsonMediaType(headers.get('content-type')) || !acceptsJsonAndEventStream(headers)) {
      return new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true }).handleRequest(request);
    }
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return jsonRpcErrorResponse(400, RpcErrorCode.ParseError, 'Parse error: invalid JSON');
    }
    const batch = Array.isArray(body);
    const messages = (batch ? (body as unknown[]) : [body]).map(toJsonRpcMessage);
    if (messages.length === 0 || messages.some((message) => message === undefined)) {
      return jsonRpcErrorResponse(
        400,
        RpcErrorCode.InvalidRequest,
        'Invalid Request: the body must be a JSON-RPC 2.0 message or a non-empty batch of them',
      );
    }
    const valid = messages as JSONRPCMessage[];
    const initialize = valid.some((message) => isRequestMessage(message) && message.method === 'initialize');
    if (initialize && this.mode === 'sessions') return this.startSession(request, body, userId);
    const requests = valid.filter(isRequestMessage);
    if (requests.length === 0) {
      // No session they could belong to: only a cancellation can reach something (a stateless request in flight).
      for (const message of valid) this.routeCancellation(message, userId);
      return new Response(null, { status: 202 });
    }
    const [single] = requests;
    if (!batch && single) return this.serveStatelessRequest(single, !initialize, userId);
    return this.serveStatelessBatch(request, body, !initialize, userId);
  }

  private async startSession(request: Request, body: unknown, userId: string): Promise<Response> {
    let registered = false;
    const transport: HttpSessionTransport = new HttpSessionTransport({
      limits: this.gateway.streamLimits,
      onsessioninitialized: (id) => {
        registered = true;
        this.sessions.set(id, { userId, transport, session });
      },
    });
    const session = await this.gateway.open({
      userId,
      client: transport,
      kind: 'streamable-http',
      answersCancelledRequests: true,
      onClose: () => {
        if (transport.sessionId) this.sessions.delete(transport.sessionId);
      },
    });
    const response = await transport.handleRequest(request, { parsedBody: body });
    if (session.relay.upstreamUnreachable) {
      await session.close('upstream_closed');
      throw new McpUnavailableError('The MCP server could not be reached to initialize the session');
    }
    // Rejected by the transport (bad Accept header...): no session came of it.
    if (!registered) await session.close('done');
    return response;
  }

  private async serveStatelessRequest(request: JSONRPCRequest, handshake: boolean, userId: string): Promise<Response> {
    const limits = this.gateway.streamLimits;
    const transport = new StatelessHttpTransport({
      keepAliveMs: limits.keepAliveMs,
      maxQueuedBytes: limits.backlogBytes,
      firstEventWaitMs: limits.firstEventWaitMs,
    });
    const session = await this.gateway.open({
      userId,
      client: transport,
      kind: 'stateless',
      handshake,
      answersCancelledRequests: true,
      refuseServerRequests: STATELESS_SERVER_REQUEST_REFUSAL,
    });
    const key = inFlightKey(userId, request.id);
    const cancellable = !this.inFlight.has(key);
    if (cancellable) this.inFlight.set(key, transport);
    void transport.settled.then(async () => {
      if (cancellable) this.inFlight.delete(key);
      await session.close('done');
    });
    const response = await transport.serve(request);
    if (session.relay.upstreamUnreachable) {
      await session.close('upstream_closed');
      throw new McpUnavailableError('The MCP server could not be reached for this request');
    }
    return response;
  }

  /** Batches (protocol versions before 2025-06-18): the SDK's transport, JSON answers. */
  private async serveStatelessBatch(
    request: Request,
    body: unknown,
    handshake: boolean,
    userId: string,
  ): Promise<Response> {
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    const session = await this.gateway.open({
      userId,
      client: transport,
      kind: 'stateless',
      handshake,
      answersCancelledRequests: true,
      refuseServerRequests: STATELESS_SERVER_REQUEST_REFUSAL,
    });
    try {
      // With JSON responses this resolves once every request in the body is answered.
      const response = await transport.handleRequest(request, { parsedBody: body });
      if (session.relay.upstreamUnreachable) {
        throw new McpUnavailableError('The MCP server could not be reached for this request');
      }
      return response;
    } finally {
      await session.close('done');
    }
  }

  private routeCancellation(message: JSONRPCMessage, userId: string): void {
    if (!isNotificationMessage(message) || message.method !== 'notifications/cancelled') return;
    const requestId = isRecord(message.params) ? message.params.requestId : undefined;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    this.inFlight.get(inFlightKey(userId, requestId))?.deliver(message);
  }
}

const STATELESS_SERVER_REQUEST_REFUSAL =
  'The client cannot be asked anything: a request without an MCP session has nowhere to take an answer';

/** A gateway with its Streamable HTTP front in `mode`, as `AppDeps` holds them: built together, once. */
export function mcpGatewayParts(
  gateway: McpGateway,
  mode: McpHttpMode,
): { mcpGateway: McpGateway; mcpHttp: StreamableHttpGateway } {
  return { mcpGateway: gateway, mcpHttp: new StreamableHttpGateway(gateway, mode) };
}
