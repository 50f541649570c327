import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * A successful result carrying `data` twice: as `structuredContent`, which workflow steps
 * template on (`{{steps.<id>.<field>}}`), and as text for clients that only read `content`.
 */
export function structuredResult(data: Record<string, unknown>, text = JSON.stringify(data)): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: data };
}

/** A tool-level failure: the call itself worked, the tool reports an error (`isError`). */
export function toolErrorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}
