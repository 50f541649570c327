import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { toolErrorResult } from '../tool-results';

/** Always fails, so workflows can exercise their error handling and retries. */
export function registerFailTool(server: McpServer): void {
  server.registerTool(
    'fail',
    {
      title: 'Fail',
      description: 'Always returns an error result (isError: true) with `message`. For testing failure handling.',
      inputSchema: { message: z.string().max(4096).default('Intentional failure') },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ message }) => toolErrorResult(message),
  );
}
