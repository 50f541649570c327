import type { McpToolClient } from '../mcp/tool-client';
import type { Metrics } from './metrics';

/** The same client, timing every `tools/call` into `metrics` (outcome: ok, tool_error or error). */
export function withCallMetrics(client: McpToolClient, metrics: Metrics | undefined): McpToolClient {
  if (!metrics) return client;
  return {
    listTools: () => client.listTools(),
    close: () => client.close(),
    async callTool(request) {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const result = await client.callTool(request);
        metrics.observeMcpCall({
          tool: request.name,
          outcome: result.isError ? 'tool_error' : 'ok',
          via: 'runs',
          seconds: seconds(),
        });
        return result;
      } catch (error) {
        metrics.observeMcpCall({ tool: request.name, outcome: 'error', seconds: seconds(), via: 'runs' });
        throw error;
      }
    },
  };
}
