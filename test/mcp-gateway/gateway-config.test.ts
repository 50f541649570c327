import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config';
import { toolPolicyOf } from '../../src/mcp-gateway/tool-policy';

const base = { NODE_ENV: 'test' };

describe('MCP gateway configuration', () => {
  it('has defaults: every tool, 5 sessions per user, 10 min idle, 60 s upstream timeout, sessions', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      mcpMaxSessionsPerUser: 5,
      mcpSessionIdleMs: 600_000,
      mcpUpstreamTimeoutMs: 60_000,
      mcpGatewayMode: 'sessions',
    });
    expect(config.mcpAllowedTools).toBeUndefined();
    expect(toolPolicyOf(config).isAllowed('anything')).toBe(true);
  });

  it('reads MCP_ALLOWED_TOOLS as a trimmed list; empty means every tool', () => {
    const config = loadConfig({ ...base, MCP_ALLOWED_TOOLS: ' echo, calculate ,,' });
    expect(config.mcpAllowedTools).toEqual(['echo', 'calculate']);
    const policy = toolPolicyOf(config);
    expect([policy.isAllowed('echo'), policy.isAllowed('calculate'), policy.isAllowed('sleep')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(loadConfig({ ...base, MCP_ALLOWED_TOOLS: '  ' }).mcpAllowedTools).toBeUndefined();
  });

  it('names the variable of a bad value', () => {
    for (const [name, value] of [
      ['MCP_MAX_SESSIONS_PER_USER', '0'],
      ['MCP_SESSION_IDLE_MS', 'soon'],
      ['MCP_UPSTREAM_TIMEOUT_MS', '-1'],
      ['MCP_GATEWAY_MODE', 'sticky'],
    ] as const) {
      let problems: string[] = [];
      try {
        loadConfig({ ...base, [name]: value });
      } catch (error) {
        if (error instanceof ConfigError) problems = error.problems;
      }
      expect(
        problems.some((problem) => problem.startsWith(name)),
        `${name}=${value}`,
      ).toBe(true);
    }
  });
});
