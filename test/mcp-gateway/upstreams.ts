import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { serve } from '@hono/node-server';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { inProcessConnector } from '../../src/mcp/in-process-connector';
import type { McpConnector } from '../../src/mcp/tool-client';
import { createBuiltinMcpServer } from '../../src/mcp-server/create-builtin-mcp-server';
import { createBuiltinMcpHttpHandler } from '../../src/mcp-server/http-handler';
import type { NoteStore } from '../../src/mcp-server/note-store';
import { stdioConnector } from '../../src/node/mcp-stdio';

/** The built-in server in process, counting its live sessions (each gateway session gets its own server). */
export function countingBuiltinUpstream(notes: NoteStore) {
  let live = 0;
  let opened = 0;
  const connector = inProcessConnector(() => {
    const server = createBuiltinMcpServer({ notes });
    live++;
    opened++;
    server.server.onclose = () => {
      live--;
    };
    return server;
  });
  return {
    connector,
    get live() {
      return live;
    },
    get opened() {
      return opened;
    },
  };
}

/**
 * The built-in server over real Streamable HTTP, requiring `Authorization: Bearer <authToken>`
 * (or exactly `authorization`) when one is given, and recording the Authorization header of
 * every request it receives.
 */
export async function startRecordingHttpUpstream(options: {
  notes: NoteStore;
  authToken?: string;
  authorization?: string;
}) {
  const handler = createBuiltinMcpHttpHandler({ notes: options.notes });
  const authorizations: Array<string | null> = [];
  const server = serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (request: Request) => {
      const authorization = request.headers.get('authorization');
      authorizations.push(authorization);
      const required = options.authorization ?? (options.authToken ? `Bearer ${options.authToken}` : undefined);
      if (required && authorization !== required) {
        return Response.json({ error: { code: 'unauthorized', message: 'bad token' } }, { status: 401 });
      }
      return handler.handle(request);
    },
  });
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    handler,
    authorizations,
    async close() {
      await handler.close();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The official reference server ("everything"), a dev dependency.
const everythingEntry = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist',
  'index.js',
);

/** server-everything over stdio, one child process per gateway session; remembers each transport (its pid). */
export function everythingStdioUpstream() {
  const transports: StdioClientTransport[] = [];
  const inner = stdioConnector(`"${process.execPath}" "${everythingEntry}" stdio`, { stderr: 'ignore' });
  const connector: McpConnector = async () => {
    const transport = (await inner()) as StdioClientTransport;
    transports.push(transport);
    return transport;
  };
  connector.label = inner.label;
  return { connector, transports };
}

/** Whether a process is still running. */
export function isRunning(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * server-everything in one of its HTTP modes (`streamableHttp`: SSE answers to POSTs;
 * `sse`: the legacy HTTP+SSE transport) on a free port; resolves once it listens.
 */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse', port: number) {
  const child: ChildProcess = spawn(process.execPath, [everythingEntry, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (/running on port|listening on port/i.test(output)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`everything (${mode}) exited with ${code}: ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}
