import { WebSocket as NodeWebSocket } from 'ws';

/**
 * Node 20 has no global `WebSocket` (Node 22 has), but the SDK's
 * `WebSocketClientTransport`, used for `ws(s)://` MCP URLs, constructs one. Installs the
 * `ws` implementation, whose browser-style API (onopen/onmessage/onerror/onclose, string
 * `data` for text frames) is what that transport uses. No-op where a global exists.
 */
export function installWebSocketGlobal(): void {
  if (typeof globalThis.WebSocket === 'function') return;
  (globalThis as { WebSocket?: unknown }).WebSocket = NodeWebSocket;
}
