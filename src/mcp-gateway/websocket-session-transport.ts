import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import {
  idOf,
  isAnswerMessage,
  isRequestMessage,
  RpcErrorCode,
  rpcError,
  rpcErrorWithoutId,
  toJsonRpcMessage,
} from './json-rpc';

/** Control over the runtime's socket where it has it (Node `ws`): what waits to be sent, and reading. */
export interface WebSocketFlowControl {
  /** Bytes queued on the socket, not yet handed to the network. */
  bufferedAmount(): number;
  /** Stops reading the client's frames (the client's sends then wait in its own buffers). */
  pause(): void;
  resume(): void;
}

/** What the transport needs from a server-side WebSocket (Hono's `WSContext` has both). */
export interface WebSocketSink {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  flow?: WebSocketFlowControl;
}

/** What one client may make the gateway hold for it. */
export interface WebSocketFlowLimits {
  /** Answers waiting to be sent to the client before its frames are no longer read. */
  maxBufferedBytes: number;
  /** Its requests waiting for the upstream before its frames are no longer read. */
  maxInFlight: number;
}

export const DEFAULT_WEBSOCKET_FLOW_LIMITS: WebSocketFlowLimits = {
  maxBufferedBytes: 4 * 1024 * 1024,
  maxInFlight: 16,
};

/** How often a paused socket is looked at again (nothing says when queued bytes have gone out). */
const DRAIN_CHECK_MS = 25;

/** Frames above this are answered with an error (Node's `ws` already refuses them with close 1009). */
export const MAX_MCP_FRAME_BYTES = 1024 * 1024;

const utf8 = new TextEncoder();

function byteLength(text: string): number {
  // Cheap bounds first: a UTF-16 code unit is 1 to 3 UTF-8 bytes.
  if (text.length * 3 <= MAX_MCP_FRAME_BYTES) return text.length;
  return utf8.encode(text).byteLength;
}

/**
 * The server side of MCP over WebSocket for the gateway, the counterpart of the SDK's
 * `WebSocketClientTransport`: one JSON-RPC message per text frame. The runtime's socket
 * events feed it (`receive`, `socketClosed`), so it works with any Hono WebSocket adapter.
 * A frame that is not one JSON-RPC message (bad JSON, a batch, binary, over 1 MiB) is
 * answered with a JSON-RPC error and the connection stays open. Frames that arrive before
 * `start()` (while the upstream session is being opened) are kept and delivered then.
 *
 * Backpressure: a client that sends requests faster than it reads the answers would make the
 * gateway hold them all. Once `maxInFlight` of its requests wait for the upstream, or
 * `maxBufferedBytes` of answers wait for it to read, its frames are no longer read (the
 * runtime's `flow.pause()`) until both are back under (half the bytes). Where the runtime cannot
 * pause, a request over `maxInFlight` is answered with an error instead.
 */
export class WebSocketSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly sessionId = crypto.randomUUID();

  private started = false;
  private closed = false;
  private queued: JSONRPCMessage[] = [];
  private readonly inFlight = new Set<RequestId>();
  private drainCheck: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly socket: WebSocketSink,
    private readonly limits: WebSocketFlowLimits = DEFAULT_WEBSOCKET_FLOW_LIMITS,
  ) {}

  /** A WebSocket client is there for as long as its socket is open. */
  get attached(): boolean {
    return !this.closed;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('WebSocketSessionTransport already started');
    this.started = true;
    // The client left while the upstream session was being opened.
    if (this.closed) {
      this.onclose?.();
      return;
    }
    const queued = this.queued;
    this.queued = [];
    for (const message of queued) this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('Not connected');
    this.socket.send(JSON.stringify(message));
    if (isAnswerMessage(message)) this.inFlight.delete(message.id);
    this.regulate();
  }

  async close(): Promise<void> {
    this.closeWith(1000, 'MCP session closed');
  }

  /** Closes the socket with a close code and reason (e.g. 1008 over the session cap, 1013 upstream unavailable). */
  closeWith(code: number, reason: string): void {
    if (!this.closed) {
      try {
        this.socket.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.socketClosed();
  }

  /** One incoming frame (text, or binary as ArrayBuffer/Blob). */
  receive(data: unknown): void {
    if (this.closed) return;
    if (typeof data !== 'string') {
      this.answer(rpcErrorWithoutId(RpcErrorCode.ParseError, 'Parse error: send JSON-RPC as text frames'));
      return;
    }
    if (byteLength(data) > MAX_MCP_FRAME_BYTES) {
      this.answer(rpcErrorWithoutId(RpcErrorCode.InvalidRequest, `Frame larger than ${MAX_MCP_FRAME_BYTES} bytes`));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.answer(rpcErrorWithoutId(RpcErrorCode.ParseError, 'Parse error: invalid JSON'));
      return;
    }
    const message = toJsonRpcMessage(parsed);
    if (!message) {
      const id = idOf(parsed);
      const text = 'Invalid Request: send one JSON-RPC 2.0 message per frame';
      this.answer(
        id === undefined
          ? rpcErrorWithoutId(RpcErrorCode.InvalidRequest, text)
          : rpcError(id, RpcErrorCode.InvalidRequest, text),
      );
      return;
    }
    if (isRequestMessage(message)) {
      if (!this.socket.flow && this.inFlight.size >= this.limits.maxInFlight) {
        const text = `Too many requests in flight on this connection (at most ${this.limits.maxInFlight}); wait for answers`;
        this.answer(rpcError(message.id, RpcErrorCode.ConnectionClosed, text));
        return;
      }
      this.inFlight.add(message.id);
    }
    if (this.started) this.onmessage?.(message);
    else this.queued.push(message);
    this.regulate();
  }

  /** The socket closed (either side) or failed. */
  socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    this.inFlight.clear();
    clearInterval(this.drainCheck);
    this.drainCheck = undefined;
    if (this.started) this.onclose?.();
  }

  /** Stops or resumes reading the client's frames (see the class comment). */
  private regulate(): void {
    if (this.closed) return;
    const flow = this.socket.flow;
    if (!flow) return;
    const buffered = flow.bufferedAmount();
    const paused = this.drainCheck !== undefined;
    const over = this.inFlight.size >= this.limits.maxInFlight || buffered > this.limits.maxBufferedBytes;
    if (over && !paused) {
      flow.pause();
      this.drainCheck = setInterval(() => this.regulate(), DRAIN_CHECK_MS);
      (this.drainCheck as { unref?: () => void }).unref?.();
    } else if (paused && this.inFlight.size < this.limits.maxInFlight && buffered <= this.limits.maxBufferedBytes / 2) {
      clearInterval(this.drainCheck);
      this.drainCheck = undefined;
      flow.resume();
    }
  }

  private answer(message: JSONRPCMessage): void {
    try {
      this.socket.send(JSON.stringify(message));
    } catch {
      // the socket is going away; its close event ends the session
    }
  }
}
