import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import { McpGateway } from '../mcp-gateway/mcp-gateway';
import { toolPolicyOf } from '../mcp-gateway/tool-policy';
import { mcpConnectorFor } from './mcp-client-factory';

type GatewayConfig = Pick<
  Config,
  | 'mcpUrl'
  | 'mcpCommand'
  | 'mcpAuthToken'
  | 'mcpAllowedTools'
  | 'mcpMaxSessionsPerUser'
  | 'mcpSessionIdleMs'
  | 'mcpUpstreamTimeoutMs'
>;

/**
 * The `/mcp` gateway of a Node API process: the same upstream selection as the platform's
 * own client (MCP_URL with MCP_AUTH_TOKEN as its credential, else MCP_COMMAND spawned per
 * session, else the built-in server in process), and the limits from the configuration.
 */
export function createMcpGateway(config: GatewayConfig, logger: Logger): McpGateway {
  return new McpGateway({
    connector: mcpConnectorFor(config),
    policy: toolPolicyOf(config),
    logger,
    maxSessionsPerUser: config.mcpMaxSessionsPerUser,
    sessionIdleMs: config.mcpSessionIdleMs,
    requestTimeoutMs: config.mcpUpstreamTimeoutMs,
  });
}
