import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { type RawData, WebSocket } from 'ws';

function rawDataToText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function requestIdOf(value: unknown): string | number | null {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = (value as { id: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') return id;
  }
  return null;
}

/**
 * Server side of MCP over WebSocket (the counterpart of the SDK's
 * `WebSocketClientTransport`): every text frame is one JSON-RPC message. A frame that is
 * not one gets a JSON-RPC error reply and the connection stays open.
 */
export class WebSocketServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly sessionId: string;

  private started = false;
  private closed = false;
  // Frames can arrive between the upgrade and start(); they wait here instead of being lost.
  private pending: JSONRPCMessage[] = [];

  constructor(private readonly socket: WebSocket) {
    this.sessionId = crypto.randomUUID();
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', () => this.markClosed());
    socket.on('error', (error) => this.onerror?.(error));
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('WebSocketServerTransport already started');
    this.started = true;
    const queued = this.pending;
    this.pending = [];
    for (const message of queued) this.onmessage?.(message);
    if (this.socket.readyState !== WebSocket.OPEN) this.markClosed();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) throw new Error('Not connected');
    await new Promise<void>((resolve, reject) => {
      this.socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000, 'closing');
    }
    this.markClosed();
  }

  private receive(data: RawData, isBinary: boolean): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawDataToText(data));
    } catch {
      this.reject(null, ErrorCode.ParseError, `Parse error: ${isBinary ? 'binary frame' : 'invalid JSON'}`);
      return;
    }
    const result = JSONRPCMessageSchema.safeParse(parsed);
    if (!result.success) {
      this.reject(requestIdOf(parsed), ErrorCode.InvalidRequest, 'Invalid Request: one JSON-RPC message per frame');
      return;
    }
    if (this.started) this.onmessage?.(result.data);
    else this.pending.push(result.data);
  }

  private reject(id: string | number | null, code: ErrorCode, message: string): void {
    this.onerror?.(new Error(message));
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }));
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
