import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { structuredResult } from '../tool-results';

// Loose: fields besides `text` are echoed back too, so a workflow can use `echo` to
// shape data for later steps (`{{steps.<id>.anyField}}`).
const echoShape = z.looseObject({
  text: z
    .string()
    .max(64 * 1024)
    .describe('Text to return unchanged'),
});

export function registerEchoTool(server: McpServer): void {
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description:
        'Returns `text` unchanged. Any other arguments are returned as well, in structuredContent, for later workflow steps.',
      inputSchema: echoShape,
      outputSchema: echoShape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) => structuredResult(args, args.text),
  );
}
