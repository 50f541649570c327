import { describe, expect, it } from 'vitest';
import type { McpTool } from '../../src/mcp/tool-client';
import { createToolListCache, withCachedToolList } from '../../src/mcp/tool-list-cache';
import { connectorForUrl } from '../../src/mcp/transports';
import { splitCommandLine } from '../../src/node/mcp-stdio';

const tool = (name: string): McpTool => ({ name, inputSchema: { type: 'object' } });

describe('tool list cache', () => {
  it('serves the list until the TTL passes, then loads again', async () => {
    let now = 0;
    let loads = 0;
    const cache = createToolListCache(async () => [tool(`v${++loads}`)], { ttlMs: 10_000, clock: () => new Date(now) });
    expect(await cache.get()).toEqual([tool('v1')]);
    now = 9_999;
    expect(await cache.get()).toEqual([tool('v1')]);
    now = 10_000;
    expect(await cache.get()).toEqual([tool('v2')]);
    cache.invalidate();
    expect(await cache.get()).toEqual([tool('v3')]);
  });

  it('shares one load between concurrent callers and does not cache failures', async () => {
    let loads = 0;
    let fail = true;
    const cache = createToolListCache(async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (fail) throw new Error('down');
      return [tool('t')];
    });
    const results = await Promise.allSettled([cache.get(), cache.get(), cache.get()]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(loads).toBe(1);
    fail = false;
    expect(await cache.get()).toEqual([tool('t')]);
    expect(loads).toBe(2);
  });
});

describe('withCachedToolList', () => {
  it('lists tools through one cache for the client it wraps; calls and close go straight through', async () => {
    let now = 0;
    const seen: string[] = [];
    const client = withCachedToolList(
      {
        listTools: async () => {
          seen.push('list');
          return [tool(`v${seen.length}`)];
        },
        callTool: async (request) => {
          seen.push(`call ${request.name}`);
          return { content: [] };
        },
        close: async () => {
          seen.push('close');
        },
      },
      { ttlMs: 5000, clock: () => new Date(now) },
    );
    expect(await client.listTools()).toEqual([tool('v1')]);
    expect(await client.listTools()).toEqual([tool('v1')]);
    await client.callTool({ name: 'echo', arguments: {} });
    await client.callTool({ name: 'echo', arguments: {} });
    now = 5000;
    expect(await client.listTools()).toEqual([tool('v4')]);
    await client.close();
    expect(seen).toEqual(['list', 'call echo', 'call echo', 'list', 'close']);
  });
});

describe('splitCommandLine', () => {
  it('splits like a shell without expanding anything', () => {
    expect(splitCommandLine('npx -y @modelcontextprotocol/server-everything')).toEqual([
      'npx',
      '-y',
      '@modelcontextprotocol/server-everything',
    ]);
    expect(splitCommandLine(`  node "/path with space/s.js"  --name='a b' x\\ y "q\\"uote" $HOME ''`)).toEqual([
      'node',
      '/path with space/s.js',
      '--name=a b',
      'x y',
      'q"uote',
      '$HOME',
      '',
    ]);
    expect(splitCommandLine('')).toEqual([]);
    expect(() => splitCommandLine('node "unterminated')).toThrow(/Unterminated/);
  });
});

describe('connectorForUrl', () => {
  it('accepts http(s) and ws(s) and labels without credentials', () => {
    expect(connectorForUrl('https://user:pw@mcp.example.com/mcp?token=secret').label).toBe(
      'MCP server https://mcp.example.com/mcp',
    );
    expect(connectorForUrl('wss://mcp.example.com/ws').label).toBe('MCP server wss://mcp.example.com/ws');
    expect(() => connectorForUrl('ftp://mcp.example.com')).toThrow(/scheme/);
  });
});
