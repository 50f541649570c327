import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config/config';
import { MCP_SERVER_VARIABLES } from '../src/node/mcp-server-env';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function undocumented(variables: readonly string[]): string[] {
  return variables.filter((name) => !readme.includes(`\`${name}\``));
}

describe('README documents every environment variable a program reads', () => {
  it('the API and worker configuration', () => {
    expect(undocumented(CONFIG_VARIABLES)).toEqual([]);
  });

  it('the standalone built-in MCP server (npm run mcp-server)', () => {
    expect(undocumented(MCP_SERVER_VARIABLES)).toEqual([]);
  });
});
