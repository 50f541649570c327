import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import { inProcessConnector } from '../mcp/in-process-connector';
import { createReconnectingMcpClient, type McpConnector, type McpToolClient } from '../mcp/tool-client';
import { connectorForUrl } from '../mcp/transports';
import { restrictTools } from '../mcp-gateway/restricted-tool-client';
import { type ToolPolicy, toolPolicyOf } from '../mcp-gateway/tool-policy';
import { createBuiltinMcpServer } from '../mcp-server/create-builtin-mcp-server';
import { stdioConnector } from './mcp-stdio';
import { installWebSocketGlobal } from './websocket-global';

const CLIENT_INFO = { name: 'workflow-platform', version: '0.1.0' };

/** The built-in MCP server in this process, through the SDK's in-memory transport. */
export function createBuiltinMcpClient(): McpToolClient {
  return createReconnectingMcpClient(
    inProcessConnector(() => createBuiltinMcpServer()),
    { clientInfo: CLIENT_INFO },
  );
}

/** Which MCP server this process talks to: MCP_URL, else MCP_COMMAND (stdio), else the built-in one. */
export function mcpConnectorFor(config: Pick<Config, 'mcpUrl' | 'mcpCommand' | 'mcpAuthToken'>): McpConnector {
  if (config.mcpUrl) {
    if (/^wss?:/i.test(config.mcpUrl)) installWebSocketGlobal();
    const headers: Record<string, string> = config.mcpAuthToken
      ? { authorization: `Bearer ${config.mcpAuthToken}` }
      : {};
    return connectorForUrl(config.mcpUrl, { headers });
  }
  if (config.mcpCommand) return stdioConnector(config.mcpCommand, { stderr: 'inherit' });
  return inProcessConnector(() => createBuiltinMcpServer());
}

/** One long-lived, reconnecting MCP session for this process, limited to the MCP_ALLOWED_TOOLS (if set). */
export function createMcpClient(
  config: Pick<Config, 'mcpUrl' | 'mcpCommand' | 'mcpAuthToken' | 'mcpAllowedTools'>,
  logger: Logger,
  options: { requestTimeoutMs?: number; connectTimeoutMs?: number; policy?: ToolPolicy } = {},
): McpToolClient {
  const client = createReconnectingMcpClient(mcpConnectorFor(config), {
    clientInfo: CLIENT_INFO,
    requestTimeoutMs: options.requestTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    onTransportError: (err) => logger.warn({ err: { message: err.message } }, 'mcp transport error'),
  });
  return restrictTools(client, options.policy ?? toolPolicyOf(config));
}
