import { Pool } from 'undici';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import type { McpConnector } from '../mcp/tool-client';
import { redactUrl } from '../config/redact-url';
import { basicAuthorization, withoutUserinfo } from '../mcp/transports';
import { type GatewayLimitsConfig, gatewayLimits } from '../mcp-gateway/gateway-limits';
import { McpGateway } from '../mcp-gateway/mcp-gateway';
import type { ToolPolicy } from '../mcp-gateway/tool-policy';
import { mcpConnectorFor } from './mcp-client-factory';
import { NodeStreamableHttpClientTransport } from './node-streamable-http-transport';
import { NodeWebSocketClientTransport } from './node-websocket-client-transport';

type UpstreamConfig = Pick<Config, 'mcpUrl' | 'mcpCommand' | 'mcpAuthToken'>;

type GatewayConfig = UpstreamConfig & GatewayLimitsConfig;

/**
 * The gateway's upstream: the same selection as the platform's own client (MCP_URL with
 * MCP_AUTH_TOKEN as its credential, else MCP_COMMAND spawned per session, else the built-in
 * server in process), except that an `http(s)` MCP_URL is reached with the lean undici-based
 * transport over keep-alive connections shared by all sessions, and a `ws(s)` one straight on
 * `ws`: every relayed request pays for this hop, the platform's own client makes few calls.
 */
export function gatewayUpstreamConnector(config: UpstreamConfig): McpConnector {
  // With MCP_AUTH_TOKEN a ws(s) URL is refused there, as for the platform's own client.
  if (config.mcpUrl && /^wss?:/i.test(config.mcpUrl) && !config.mcpAuthToken) {
    const url = new URL(config.mcpUrl);
    const connector: McpConnector = async () => new NodeWebSocketClientTransport(url);
    connector.label = `MCP server ${redactUrl(url)}`;
    return connector;
  }
  if (!config.mcpUrl || !/^https?:/i.test(config.mcpUrl)) return mcpConnectorFor(config);
  const url = new URL(config.mcpUrl);
  // No undici timeouts: a GET stream may be quiet for hours, and the relay times requests out itself.
  const pool = new Pool(url.origin, { headersTimeout: 0, bodyTimeout: 0 });
  const headers: Record<string, string> = {};
  if (config.mcpAuthToken) headers.authorization = `Bearer ${config.mcpAuthToken}`;
  else {
    // Credentials in the URL go as Basic auth, as any HTTP client sends them.
    const basic = basicAuthorization(url);
    if (basic) headers.authorization = basic;
  }
  // Never a URL with userinfo past this point (the SSE fallback's fetch refuses one).
  const bare = withoutUserinfo(url);
  const connector: McpConnector = async () => new NodeStreamableHttpClientTransport(bare, { headers, pool });
  connector.label = `MCP server ${redactUrl(url)}`;
  return connector;
}

/** The `/mcp` gateway of a Node API process, with the limits from the configuration. */
export function createMcpGateway(config: GatewayConfig, policy: ToolPolicy, logger: Logger): McpGateway {
  return new McpGateway({
    connector: gatewayUpstreamConnector(config),
    policy,
    logger,
    ...gatewayLimits(config),
  });
}
