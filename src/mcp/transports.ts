import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { redactUrl } from '../config/redact-url';
import { StreamableHttpWithSseFallbackTransport } from './streamable-http-with-sse-fallback';
import type { McpConnector } from './tool-client';

export interface UrlConnectorOptions {
  /**
   * Extra headers on every HTTP request to the server: the platform's own upstream
   * credentials (e.g. `Authorization: Bearer ${MCP_AUTH_TOKEN}`), never a user's token.
   */
  headers?: Record<string, string>;
}

function decoded(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}

/**
 * `Authorization: Basic` from a URL's userinfo (percent-decoded, UTF-8), as any HTTP client
 * sends `http://user:password@host/`; undefined without userinfo. Web APIs only.
 */
export function basicAuthorization(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const bytes = new TextEncoder().encode(`${decoded(url.username)}:${decoded(url.password)}`);
  return `Basic ${btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''))}`;
}

/** The same URL without userinfo: fetch refuses to build a Request from one that has it. */
export function withoutUserinfo(url: URL): URL {
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  return bare;
}

function hasAuthorization(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
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
    case 'https:': {
      // Userinfo goes as Basic auth (unless the caller brought its own credential), never in the URL.
      const basic = basicAuthorization(target);
      const withBasic = basic && !hasAuthorization(headers) ? { ...headers, authorization: basic } : headers;
      const bare = withoutUserinfo(target);
      connector = async () => new StreamableHttpWithSseFallbackTransport(bare, { headers: withBasic });
      break;
    }
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
  connector.label = `MCP server ${redactUrl(target)}`;
  return connector;
}
