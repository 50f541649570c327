import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import type { Clock } from '../../clock';
import { structuredResult } from '../tool-results';

export function registerGetTimeTool(server: McpServer, clock: Clock): void {
  server.registerTool(
    'get_time',
    {
      title: 'Current time',
      description: 'Returns the current server time as {iso, epochMs}.',
      outputSchema: { iso: z.string(), epochMs: z.number().int() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => {
      const now = clock();
      return structuredResult({ iso: now.toISOString(), epochMs: now.getTime() }, now.toISOString());
    },
  );
}
