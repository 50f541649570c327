import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { type HeldAnswer, holdAnswer } from './held-answer';
import { isAnswerMessage, progressTokenOf, RpcErrorCode, rpcError } from './json-rpc';
import { SseConnection } from './sse-connection';
import type { StreamingClient } from './stream-relations';

export interface StatelessHttpTransportOptions {
  keepAliveMs: number;
  /** Bytes the client may leave unread on the answer's stream before it is dropped. */
  maxQueuedBytes: number;
  firstEventWaitMs: number;
}

/**
 * The client side of one request served without a session (a POST without `Mcp-Session-Id`,
 * or any POST in `stateless` mode): answered with JSON, or on an SSE stream when the upstream
 * streams its answer, the request carries a `progressToken` or a related message comes first,
 * by the same rules as a session's requests. Its events carry no ids: without a session there
 * is nothing to resume. `settled` resolves once the answer is out or the client left; the
 * client leaving closes the transport (and so cancels the request upstream).
 */
export class StatelessHttpTransport implements Transport, StreamingClient {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly settled: Promise<void>;
  private settle!: () => void;
  private requestId: RequestId | undefined;
  private answer: HeldAnswer | undefined;
  private connection: SseConnection | undefined;
  private closed = false;

  constructor(private readonly options: StatelessHttpTransportOptions) {
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  async start(): Promise<void> {}

  /** Serves the request; resolves with what the POST is answered with. */
  serve(request: JSONRPCRequest): Promise<Response> {
    this.requestId = request.id;
    const answer = holdAnswer(() => this.openStream());
    this.answer = answer;
    if (progressTokenOf(request) !== undefined) answer.stream();
    this.onmessage?.(request);
    return answer.response;
  }

  /** A later message about this request from the same client (its cancellation). */
  deliver(message: JSONRPCMessage): void {
    if (!this.closed) this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const answer = this.answer;
    if (!answer || this.closed) return;
    if (isAnswerMessage(message)) {
      if (message.id !== this.requestId) return;
      this.answer = undefined;
      if (answer.streamed) {
        this.write(message);
        this.connection?.end();
      } else {
        answer.resolve(Response.json(message));
      }
      this.settle();
      return;
    }
    // Messages of no request have nowhere else to go without a session (the SDK drops them too).
    if (options?.relatedRequestId !== this.requestId && !answer.streamed) return;
    answer.stream();
    this.write(message);
  }

  streamResponse(requestId: RequestId): void {
    if (requestId === this.requestId) this.answer?.stream();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const answer = this.answer;
    if (answer && this.requestId !== undefined) {
      const error = rpcError(this.requestId, RpcErrorCode.ConnectionClosed, 'The MCP request has ended');
      if (answer.streamed) this.write(error);
      else answer.resolve(Response.json(error));
    }
    this.answer = undefined;
    this.closed = true;
    this.connection?.end();
    this.settle();
    this.onclose?.();
  }

  private openStream(): Promise<Response> {
    this.connection = new SseConnection({
      keepAliveMs: this.options.keepAliveMs,
      maxQueuedBytes: this.options.maxQueuedBytes,
      openAfterMs: this.options.firstEventWaitMs,
      onLost: () => void this.close(),
    });
    return this.connection.response;
  }

  private write(message: JSONRPCMessage): void {
    this.connection?.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }
}
