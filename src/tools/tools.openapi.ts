import * as z from 'zod';
import { routeDoc } from '../http/route-doc';

export const toolListSchema = z.object({
  tools: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the arguments'),
    }),
  ),
});

export const toolDocs = {
  list: routeDoc({
    summary: "The upstream MCP server's tools (cached briefly)",
    tags: ['MCP'],
    auth: 'user',
    responses: { 200: { description: 'Tools', schema: toolListSchema } },
    errors: [503],
  }),
};
