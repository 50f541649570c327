import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { type RawData, WebSocket } from 'ws';
import { toJsonRpcMessage } from '../mcp-gateway/json-rpc';

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/**
 * MCP over WebSocket, client side, straight on `ws`: the gateway's upstream hop for a `ws(s)://`
 * MCP_URL. It speaks what the SDK's `WebSocketClientTransport` speaks (one JSON-RPC message
 * per text frame, subprotocol `mcp`) without the browser-style WebSocket wrapper and without
 * the zod parse of every message, which together cost about as much as the rest of relaying a
 * small call; messages are checked by `toJsonRpcMessage` (the same rules) instead.
 */
export class NodeWebSocketClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private socket?: WebSocket;

  constructor(private readonly url: URL) {}

  start(): Promise<void> {
    if (this.socket) throw new Error('NodeWebSocketClientTransport already started');
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, 'mcp');
      this.socket = socket;
      socket.once('open', () => resolve());
      socket.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      socket.on('close', () => this.onclose?.());
      socket.on('message', (data) => this.receive(data));
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.socket?.readyState !== WebSocket.OPEN) throw new Error('Not connected');
    this.socket.send(JSON.stringify(message));
  }

  async close(): Promise<void> {
    this.socket?.close();
  }

  private receive(data: RawData): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text(data));
    } catch (error) {
      this.onerror?.(error as Error);
      return;
    }
    const message = toJsonRpcMessage(parsed);
    if (message) this.onmessage?.(message);
    else this.onerror?.(new Error('MCP server sent something that is not a JSON-RPC message'));
  }
}
