import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, type RequestId, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { isRequestMessage, RpcErrorCode, rpcError, toJsonRpcMessage } from './json-rpc';
import { type RequestReader, webRequestReader } from './request-reader';

function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * The client-facing transport of one Streamable HTTP gateway session (JSON answers, not SSE).
 *
 * The SDK's web-standard server transport does everything: `initialize`, the GET stream for
 * server messages, DELETE, batches and every refusal (406, 415, 400, 404...). Only the
 * session's ordinary POST, one valid JSON-RPC message with acceptable headers, which is every
 * relayed call, takes a shorter way here: the SDK validates each message with zod several
 * times on the way in and out (about a fifth of the gateway's time per call), where one
 * structural check (`toJsonRpcMessage`, the same rules) is enough. Anything the short way
 * does not take is handed to the SDK's transport, body already parsed, so it is answered
 * exactly as before.
 */
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly sdk: WebStandardStreamableHTTPServerTransport;
  /** Requests that came the short way, waiting for their answer. */
  private readonly waiting = new Map<RequestId, (response: Response) => void>();
  private closed = false;

  constructor(options: { onsessioninitialized(sessionId: string): void }) {
    this.sdk = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: options.onsessioninitialized,
    });
    this.sdk.onmessage = (message) => this.onmessage?.(message);
    this.sdk.onerror = (error) => this.onerror?.(error);
    this.sdk.onclose = () => {
      this.closed = true;
      this.answerWaiting('The MCP session has ended');
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  async start(): Promise<void> {
    await this.sdk.start();
  }

  /**
   * Serves one request of this session. `parsedBody`: the POST body, when the caller already
   * read it; `read`: how to read the request's headers and body (default: through `request`).
   */
  async handleRequest(
    request: Request,
    options: { parsedBody?: unknown; read?: RequestReader } = {},
  ): Promise<Response> {
    const read = options.read ?? webRequestReader(request);
    if (!this.takesShortWay(request.method, read)) {
      return this.sdk.handleRequest(request, { parsedBody: options.parsedBody });
    }
    let body = options.parsedBody;
    if (body === undefined) {
      try {
        body = JSON.parse(await read.text());
      } catch {
        this.onerror?.(new Error('Parse error: Invalid JSON'));
        return jsonResponse(
          { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON' }, id: null },
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
    if (this.waiting.has(message.id)) {
      // The relay would refuse it too, but its answer would go to the first request's POST.
      const text = `Request id ${JSON.stringify(message.id)} is already in use`;
      return this.answer(rpcError(message.id, RpcErrorCode.InvalidRequest, text));
    }
    return new Promise<Response>((resolve) => {
      this.waiting.set(message.id, resolve);
      this.onmessage?.(message);
    });
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (('result' in message || 'error' in message) && message.id !== undefined) {
      const resolve = this.waiting.get(message.id);
      if (resolve) {
        this.waiting.delete(message.id);
        resolve(this.answer(message));
        return;
      }
    }
    await this.sdk.send(message, options);
  }

  async close(): Promise<void> {
    await this.sdk.close();
  }

  /** A POST of this open session whose headers the SDK would accept; its body decides the rest. */
  private takesShortWay(method: string, read: RequestReader): boolean {
    if (method !== 'POST' || this.closed || this.sdk.sessionId === undefined) return false;
    const accept = read.header('accept');
    if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) return false;
    // What SDK clients send; other spellings of JSON are left to the SDK's media type parser.
    if (read.header('content-type') !== 'application/json') return false;
    if (read.header('mcp-session-id') !== this.sdk.sessionId) return false;
    const version = read.header('mcp-protocol-version');
    return version === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(version);
  }

  private answer(message: JSONRPCMessage): Response {
    return jsonResponse(message, 200, { 'mcp-session-id': this.sdk.sessionId as string });
  }

  private answerWaiting(text: string): void {
    for (const [id, resolve] of this.waiting) resolve(this.answer(rpcError(id, RpcErrorCode.ConnectionClosed, text)));
    this.waiting.clear();
  }
}
