import type { CallToolRequest, CallToolResult, McpTool, McpToolClient } from '../mcp/tool-client';
import { ToolNotAllowedError, type ToolPolicy } from './tool-policy';

/**
 * An `McpToolClient` that only sees and calls the tools `policy` allows: `listTools` drops the
 * others and `callTool` rejects with `ToolNotAllowedError` without reaching the server. The
 * platform's own client (GET /tools/list, the run executor) goes through it, so a workflow
 * saved before the allow-list changed still cannot call a tool that is no longer allowed.
 */
export function restrictTools(client: McpToolClient, policy: ToolPolicy): McpToolClient {
  if (!policy.allowed) return client;
  return {
    async listTools(): Promise<McpTool[]> {
      return (await client.listTools()).filter((tool) => policy.isAllowed(tool.name));
    },
    async callTool(request: CallToolRequest): Promise<CallToolResult> {
      if (!policy.isAllowed(request.name)) throw new ToolNotAllowedError(request.name);
      return client.callTool(request);
    },
    close: () => client.close(),
  };
}
