import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { StreamableHttpWithSseFallbackTransport } from '../../src/mcp/streamable-http-with-sse-fallback';
import { createReconnectingMcpClient, type McpConnector, type McpToolClient } from '../../src/mcp/tool-client';
import { connectorForUrl } from '../../src/mcp/transports';
import { stdioConnector } from '../../src/node/mcp-stdio';
import { PROCESS_HOOK_MS, PROCESS_START_MS } from '../helpers/spawn-node';
import { freePort } from '../helpers/servers';

// The official reference server ("everything"), a dev dependency.
const everythingDir = dirname(
  createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json'),
);
const everythingEntry = join(everythingDir, 'dist', 'index.js');

const clients: McpToolClient[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(() => {
  for (const child of children) child.kill();
});

/** Remembers every transport the connector hands out, so tests can look at them. */
function recording<T>(connector: McpConnector): { connector: McpConnector; transports: T[] } {
  const transports: T[] = [];
  const wrapped: McpConnector = async () => {
    const transport = await connector();
    transports.push(transport as T);
    return transport;
  };
  wrapped.label = connector.label;
  return { connector: wrapped, transports };
}

/** Starts the everything server in HTTP mode `mode` on a free port; resolves once it listens. */
async function startEverything(mode: 'sse' | 'streamableHttp'): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [everythingEntry, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (/running on port|listening on port/i.test(output)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`everything server (${mode}) exited with ${code}: ${output}`)));
  });
  return port;
}

describe('official everything server', () => {
  it('over stdio, spawned from an MCP_COMMAND-style command line', { timeout: PROCESS_HOOK_MS }, async () => {
    // The handshake waits for npx and then the server to start: a process start, not a request.
    const client = createReconnectingMcpClient(
      stdioConnector('npx -y @modelcontextprotocol/server-everything', { stderr: 'ignore' }),
      { connectTimeoutMs: PROCESS_START_MS },
    );
    clients.push(client);
    const names = (await client.listTools()).map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum']));
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: hello' }]);
  });

  it('over stdio, spawning a new process after the old one died', async () => {
    // Run the entry directly: with npx in between, the pid would be npx's, and the server
    // (which holds the pipes) would outlive it.
    const { connector, transports } = recording<StdioClientTransport>(
      stdioConnector(`"${process.execPath}" "${everythingEntry}" stdio`, { stderr: 'ignore' }),
    );
    const client = createReconnectingMcpClient(connector);
    clients.push(client);
    await client.callTool({ name: 'echo', arguments: { message: 'first' } });
    const firstPid = transports[0]?.pid;
    expect(firstPid).toBeTypeOf('number');
    process.kill(firstPid as number);
    // The next call after the exit is noticed spawns a new process.
    await expect
      .poll(
        async () => {
          try {
            const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
            return JSON.stringify(sum.content);
          } catch {
            return 'failed';
          }
        },
        { timeout: 10_000, interval: 100 },
      )
      .toContain('5');
    expect(transports).toHaveLength(2);
    expect(transports[1]?.pid).not.toBe(firstPid);
  });

  it('over Streamable HTTP', async () => {
    const port = await startEverything('streamableHttp');
    const { connector, transports } = recording<StreamableHttpWithSseFallbackTransport>(
      connectorForUrl(`http://127.0.0.1:${port}/mcp`),
    );
    const client = createReconnectingMcpClient(connector);
    clients.push(client);
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'http' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: http' }]);
    expect(transports[0]?.kind).toBe('streamable-http');
  });

  it('over the legacy HTTP+SSE transport, reached by falling back after a 4xx to the POST', async () => {
    const port = await startEverything('sse');
    const { connector, transports } = recording<StreamableHttpWithSseFallbackTransport>(
      connectorForUrl(`http://127.0.0.1:${port}/sse`),
    );
    const client = createReconnectingMcpClient(connector);
    clients.push(client);
    expect((await client.listTools()).map((tool) => tool.name)).toContain('echo');
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'sse' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: sse' }]);
    expect(transports[0]?.kind).toBe('sse');
  });
});
