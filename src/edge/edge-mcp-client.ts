import { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/cfworker';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import { inProcessConnector } from '../mcp/in-process-connector';
import { createReconnectingMcpClient, type McpConnector, type McpToolClient } from '../mcp/tool-client';
import { connectorForUrl } from '../mcp/transports';
import { createBuiltinMcpServer } from '../mcp-server/create-builtin-mcp-server';

const CLIENT_INFO = { name: 'workflow-platform-edge', version: '0.1.0' };

/** MCP_URL (http(s) or ws(s)), else the built-in server inside the isolate. MCP_COMMAND has no meaning here. */
export function edgeMcpConnector(config: Pick<Config, 'mcpUrl' | 'mcpAuthToken'>): McpConnector {
  if (!config.mcpUrl) {
    return inProcessConnector(() => createBuiltinMcpServer({ jsonSchemaValidator: new CfWorkerJsonSchemaValidator() }));
  }
  const headers: Record<string, string> = config.mcpAuthToken ? { authorization: `Bearer ${config.mcpAuthToken}` } : {};
  return connectorForUrl(config.mcpUrl, { headers });
}

/**
 * An McpToolClient whose every call opens its own MCP session and closes it before returning.
 * A long-lived session cannot work in a Worker: its connection (a fetch stream, a WebSocket)
 * belongs to the request that opened it and may not be used by the next one. Holding no I/O
 * between calls, one instance can live in the isolate, so `/tools/list` caching still works.
 * The SDK's default Ajv validator compiles schemas with `new Function`, which Workers forbid;
 * `@cfworker/json-schema` interprets them instead (Ajv is not even in the bundle: wrangler.toml `[alias]`).
 */
export function createPerCallMcpClient(connector: McpConnector, logger: Logger): McpToolClient {
  const open = () =>
    createReconnectingMcpClient(connector, {
      clientInfo: CLIENT_INFO,
      connectTimeoutMs: 5000,
      clientOptions: { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
      onTransportError: (err) => logger.warn({ err: { message: err.message } }, 'mcp transport error'),
    });
  async function once<T>(run: (client: McpToolClient) => Promise<T>): Promise<T> {
    const client = open();
    try {
      return await run(client);
    } finally {
      await client.close();
    }
  }
  return {
    listTools: () => once((client) => client.listTools()),
    callTool: (request) => once((client) => client.callTool(request)),
    async close() {},
  };
}
