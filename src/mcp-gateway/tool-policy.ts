import type { Config } from '../config/config';

/**
 * Which upstream tools users may see and call (`MCP_ALLOWED_TOOLS`). One policy serves the
 * `/mcp` gateway (filters `tools/list`, refuses `tools/call`), `GET /tools/list`, workflow
 * validation and the run executor, so a tool hidden in one place is unusable everywhere.
 */
export interface ToolPolicy {
  /** The allowed names; undefined when every tool is allowed. */
  readonly allowed: ReadonlySet<string> | undefined;
  isAllowed(name: string): boolean;
}

const ALLOW_ALL_TOOLS: ToolPolicy = { allowed: undefined, isAllowed: () => true };

/**
 * The policy of a parsed configuration: no list (or an empty one) allows every tool. The
 * composition roots build it once and share it (`AppDeps.toolPolicy`, the gateway, the clients).
 */
export function toolPolicyOf(config: Pick<Config, 'mcpAllowedTools'>): ToolPolicy {
  const names = config.mcpAllowedTools;
  if (!names || names.length === 0) return ALLOW_ALL_TOOLS;
  const allowed: ReadonlySet<string> = new Set(names);
  return { allowed, isAllowed: (name) => allowed.has(name) };
}

/** A tool call refused by the allow-list. */
export class ToolNotAllowedError extends Error {
  constructor(readonly tool: string) {
    super(`Tool "${tool}" is not allowed on this platform (MCP_ALLOWED_TOOLS)`);
    this.name = 'ToolNotAllowedError';
  }
}
