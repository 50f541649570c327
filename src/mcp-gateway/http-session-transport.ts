import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { type HeldAnswer, holdAnswer } from './held-answer';
import {
  isAnswerMessage,
  isRequestMessage,
  progressTokenOf,
  RpcErrorCode,
  rpcError,
  toJsonRpcMessage,
} from './json-rpc';
import { type SessionStreamLimits, SessionStreams } from './session-streams';
import {
  acceptsEventStream,
  acceptsJsonAndEventStream,
  isJsonMediaType,
  priming,
  protocolVersionOf,
  supportsProtocolVersion,
} from './streamable-http-headers';

export interface HttpSessionTransportOptions {
  onsessioninitialized(sessionId: string): void;
  limits: SessionStreamLimits;
}

function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * The client-facing transport of one Streamable HTTP gateway session.
 *
 * A request is answered the way the upstream answered it: on its own SSE stream when the
 * upstream streamed its answer, when it carries a `progressToken`, or as soon as a message
 * related to it arrives, so those messages reach the client before the answer and in the
 * upstream's order; with plain JSON only when the answer is the first thing to come back
 * (nothing related can follow an answer). Messages of no request go on the GET stream, which
 * this transport serves itself: every event has an id, a lost stream resumes with
 * `Last-Event-ID`, and messages sent while the client has no GET stream open wait for one
 * (bounded: see SessionStreamLimits).
 *
 * The SDK's web-standard server transport serves what is not an ordinary request of an open
 * session: `initialize`, batches, DELETE and every refusal (406, 415, 400, 404...), so those
 * are answered exactly as the SDK answers them. The ordinary POST (one valid JSON-RPC message
 * with acceptable headers, every relayed call) is checked structurally here instead of by the
 * SDK's zod schemas, which cost a fifth of the gateway's time per call.
 */
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** A client stream opened or closed, or a held request was answered (see McpGateway's session accounting). */
  onpresencechange?: () => void;

  private readonly sdk: WebStandardStreamableHTTPServerTransport;
  private readonly streams: SessionStreams;
  /** Requests served here, until answered. */
  private readonly held = new Map<RequestId, HeldAnswer>();
  /** Requests the SDK's transport serves (batches, initialize): their answers go back through it. */
  private readonly sdkRequests = new Set<RequestId>();
  private readonly sessionHeaders: Record<string, string> = {};
  private closed = false;

  constructor(options: HttpSessionTransportOptions) {
    this.sdk = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        this.sessionHeaders['mcp-session-id'] = id;
        options.onsessioninitialized(id);
      },
    });
    this.streams = new SessionStreams(options.limits, {
      headers: this.sessionHeaders,
      onPresenceChange: () => this.onpresencechange?.(),
      onOverflow: () => {
        this.onerror?.(new Error('The client left too many server messages unread; closing the session'));
        void this.close();
      },
    });
    this.sdk.onmessage = (message) => {
      if (isRequestMessage(message)) this.sdkRequests.add(message.id);
      this.onmessage?.(message);
    };
    this.sdk.onerror = (error) => this.onerror?.(error);
    this.sdk.onclose = () => {
      this.closed = true;
      this.answerHeld('The MCP session has ended');
      this.streams.close();
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  /** Whether the client holds a stream or waits for an answer here. */
  get attached(): boolean {
    return this.streams.attached || [...this.held.values()].some((answer) => !answer.streamed);
  }

  async start(): Promise<void> {
    await this.sdk.start();
  }

  /**
   * Serves one request of this session. `parsedBody`: the POST body, when the caller already
   * read it.
   */
  async handleRequest(request: Request, options: { parsedBody?: unknown } = {}): Promise<Response> {
    const { headers } = request;
    if (request.method === 'GET' && this.servesStream(headers)) {
      return (
        this.streams.attach(headers.get('last-event-id') ?? undefined) ??
        jsonResponse(
          {
            jsonrpc: '2.0',
            error: {
              code: RpcErrorCode.ConnectionClosed,
              message: 'Conflict: Only one SSE stream is allowed per session',
            },
            id: null,
          },
          409,
          this.sessionHeaders,
        )
      );
    }
    if (request.method !== 'POST' || !this.takesShortWay(headers)) {
      return this.sdk.handleRequest(request, { parsedBody: options.parsedBody });
    }
    let body = options.parsedBody;
    if (body === undefined) {
      try {
        body = JSON.parse(await request.text());
      } catch {
        this.onerror?.(new Error('Parse error: Invalid JSON'));
        return jsonResponse(
          { jsonrpc: '2.0', error: { code: RpcErrorCode.ParseError, message: 'Parse error: Invalid JSON' }, id: null },
          400,
        );
      }
    }
    const message = toJsonRpcMessage(body);
    // Batches, invalid messages and a second initialize: the SDK's answers.
    if (!message || ('method' in message && message.method === 'initialize') || this.closed) {
      return this.sdk.handleRequest(request, { parsedBody: body });
    }
    if (!isRequestMessage(message)) {
      this.onmessage?.(message);
      return new Response(null, { status: 202 });
    }
    if (this.held.has(message.id)) {
      // The relay would refuse it too, but its answer would go to the first request's POST.
      const text = `Request id ${JSON.stringify(message.id)} is already in use`;
      return this.answer(rpcError(message.id, RpcErrorCode.InvalidRequest, text));
    }
    const withPriming = priming(protocolVersionOf(headers));
    const answer = holdAnswer(() => this.streams.openRequestStream(message.id, withPriming));
    this.held.set(message.id, answer);
    if (progressTokenOf(message) !== undefined) answer.stream();
    this.onmessage?.(message);
    return answer.response;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isAnswerMessage(message)) {
      const answer = this.held.get(message.id);
      if (answer) {
        this.held.delete(message.id);
        if (answer.streamed) this.streams.sendOnRequest(message.id, message, true);
        else {
          answer.resolve(this.answer(message));
          this.onpresencechange?.();
        }
        return;
      }
      if (this.sdkRequests.delete(message.id)) await this.sdk.send(message);
      // Otherwise already answered (the client cancelled it, or the session ended).
      return;
    }
    const related = options?.relatedRequestId;
    const answer = related === undefined ? undefined : this.held.get(related);
    if (answer && related !== undefined) {
      answer.stream();
      this.streams.sendOnRequest(related, message, false);
      return;
    }
    this.streams.sendStandalone(message);
  }

  /** The upstream streams its answer to this request: so does this transport. */
  streamResponse(requestId: RequestId): void {
    this.held.get(requestId)?.stream();
  }

  async close(): Promise<void> {
    await this.sdk.close();
  }

  /** A POST of this open session whose headers the SDK would accept; its body decides the rest. */
  private takesShortWay(headers: Headers): boolean {
    if (this.closed || this.sdk.sessionId === undefined) return false;
    if (!acceptsJsonAndEventStream(headers) || !isJsonMediaType(headers.get('content-type'))) return false;
    if (headers.get('mcp-session-id') !== this.sdk.sessionId) return false;
    return supportsProtocolVersion(headers);
  }

  /** A GET of this open session that the SDK would accept (else it answers the refusal). */
  private servesStream(headers: Headers): boolean {
    if (this.closed || this.sdk.sessionId === undefined) return false;
    if (headers.get('mcp-session-id') !== this.sdk.sessionId) return false;
    return acceptsEventStream(headers) && supportsProtocolVersion(headers);
  }

  private answer(message: JSONRPCMessage): Response {
    return jsonResponse(message, 200, this.sessionHeaders);
  }

  private answerHeld(text: string): void {
    for (const [id, answer] of this.held) {
      const error = rpcError(id, RpcErrorCode.ConnectionClosed, text);
      if (answer.streamed) this.streams.sendOnRequest(id, error, true);
      else answer.resolve(this.answer(error));
    }
    this.held.clear();
  }
}
