import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { StreamableHttpWithSseFallbackTransport } from './streamable-http-with-sse-fallback';
import type { McpConnector } from './tool-client';

export interface UrlConnectorOptions {
  /**
   * Extra headers on every HTTP request to the server: the platform's own upstream
   * credentials (e.g. `Authorization: Bearer ${MCP_AUTH_TOKEN}`), never a user's token.
   */
  headers?: Record<string, string>;
}

/** The URL without credentials, query or fragment, for error messages and logs. */
export function redactedUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Connector for an MCP server URL: `http(s)://` speaks Streamable HTTP and falls back to
 * HTTP+SSE when the server rejects the initial POST with a 4xx; `ws(s)://` uses the
 * SDK's `WebSocketClientTransport` (one JSON-RPC message per frame, subprotocol `mcp`),
 * which needs a global `WebSocket` (Node 20: see src/node/websocket-global.ts).
 */
export function connectorForUrl(url: string | URL, options: UrlConnectorOptions = {}): McpConnector {
  const target = new URL(url);
  const headers = options.headers ?? {};
  let connector: McpConnector;
  switch (target.protocol) {
    case 'http:':
    case 'https:':
      connector = async () => new StreamableHttpWithSseFallbackTransport(target, { headers });
      break;
    case 'ws:':
    case 'wss:':
      // The WebSocket API has no way to set request headers, so credentials cannot go
      // along silently; failing here beats an upstream 401 that looks like an outage.
      if (Object.keys(headers).length > 0) {
        throw new Error(
          'MCP over WebSocket cannot send request headers; put the upstream credential in the URL (e.g. ?token=...) or use an http(s) URL',
        );
      }
      connector = async () => {
        if (typeof globalThis.WebSocket !== 'function') {
          throw new Error('No global WebSocket in this runtime (Node 20: call installWebSocketGlobal() at startup)');
        }
        return new WebSocketClientTransport(target);
      };
      break;
    default:
      throw new Error(`Unsupported MCP server URL scheme "${target.protocol}": use http(s):// or ws(s)://`);
  }
  connector.label = `MCP server ${redactedUrl(target)}`;
  return connector;
}
