import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config/config';
import { afterIo } from './after-io';
import type { Logger } from '../logging/logger';
import type { McpConnector } from '../mcp/tool-client';
import { redactedUrl } from '../mcp/transports';
import { McpGateway } from '../mcp-gateway/mcp-gateway';
import { toolPolicyOf } from '../mcp-gateway/tool-policy';
import { mcpConnectorFor } from './mcp-client-factory';
import { NodeStreamableHttpClientTransport } from './node-streamable-http-transport';
import { NodeWebSocketClientTransport } from './node-websocket-client-transport';
import { readIncomingBody } from './read-incoming-body';

type UpstreamConfig = Pick<Config, 'mcpUrl' | 'mcpCommand' | 'mcpAuthToken'>;

type GatewayConfig = UpstreamConfig &
  Pick<Config, 'mcpAllowedTools' | 'mcpMaxSessionsPerUser' | 'mcpSessionIdleMs' | 'mcpUpstreamTimeoutMs'>;

/**
 * The gateway's upstream: the same selection as the platform's own client (MCP_URL with
 * MCP_AUTH_TOKEN as its credential, else MCP_COMMAND spawned per session, else the built-in
 * server in process), except that an `http(s)` MCP_URL is reached with the lean `node:http`
 * transport over keep-alive connections shared by all sessions, and a `ws(s)` one straight on
 * `ws`: every relayed request pays for this hop, the platform's own client makes few calls.
 */
export function gatewayUpstreamConnector(config: UpstreamConfig): McpConnector {
  // With MCP_AUTH_TOKEN a ws(s) URL is refused there, as for the platform's own client.
  if (config.mcpUrl && /^wss?:/i.test(config.mcpUrl) && !config.mcpAuthToken) {
    const url = new URL(config.mcpUrl);
    const connector: McpConnector = async () => new NodeWebSocketClientTransport(url);
    connector.label = `MCP server ${redactedUrl(url)}`;
    return connector;
  }
  if (!config.mcpUrl || !/^https?:/i.test(config.mcpUrl)) return mcpConnectorFor(config);
  const url = new URL(config.mcpUrl);
  const agent = new (url.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });
  const headers: Record<string, string> = config.mcpAuthToken ? { authorization: `Bearer ${config.mcpAuthToken}` } : {};
  const connector: McpConnector = async () => new NodeStreamableHttpClientTransport(url, { headers, agent });
  connector.label = `MCP server ${redactedUrl(url)}`;
  return connector;
}

/** The `/mcp` gateway of a Node API process, with the limits from the configuration. */
export function createMcpGateway(config: GatewayConfig, logger: Logger): McpGateway {
  return new McpGateway({
    connector: gatewayUpstreamConnector(config),
    policy: toolPolicyOf(config),
    logger,
    maxSessionsPerUser: config.mcpMaxSessionsPerUser,
    sessionIdleMs: config.mcpSessionIdleMs,
    requestTimeoutMs: config.mcpUpstreamTimeoutMs,
    defer: afterIo(),
    readBody: readIncomingBody,
  });
}
