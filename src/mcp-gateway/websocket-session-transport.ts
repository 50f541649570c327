import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { idOf, RpcErrorCode, rpcError, rpcErrorWithoutId, toJsonRpcMessage } from './json-rpc';

/** What the transport needs from a server-side WebSocket (Hono's `WSContext` has both). */
export interface WebSocketSink {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

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
 */
export class WebSocketSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly sessionId = crypto.randomUUID();

  private started = false;
  private closed = false;
  private queued: JSONRPCMessage[] = [];

  constructor(private readonly socket: WebSocketSink) {}

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
    if (this.started) this.onmessage?.(message);
    else this.queued.push(message);
  }

  /** The socket closed (either side) or failed. */
  socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    if (this.started) this.onclose?.();
  }

  private answer(message: JSONRPCMessage): void {
    try {
      this.socket.send(JSON.stringify(message));
    } catch {
      // the socket is going away; its close event ends the session
    }
  }
}
