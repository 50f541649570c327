import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import * as z from 'zod';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { freePort } from '../helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, waitForHttp } from '../helpers/spawn-node';
import { TEST_JWT_SECRET } from '../helpers/test-app';
import { eventually } from './gateway-server';

// The attack was 300 calls; half as many make the point in half the time.
const CALLS = 150;
const TEXT = 'x'.repeat(900 * 1024);
const IN_FLIGHT = 4;

/** Resident memory of a process, in bytes. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(line?.[1] ?? 0) * 1024;
}

/** test/mcp-gateway/bare-echo-server.mjs in a process of its own; `calls()` asks it how many calls it took. */
async function startBareEchoServer() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./bare-echo-server.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const port = /listening (\d+)/.exec(line.toString())?.[1];
  if (!port) throw new Error(`bare echo server: ${line.toString()}`);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async calls(): Promise<number> {
      const { calls } = await readJson(await fetch(`http://127.0.0.1:${port}/calls`), z.object({ calls: z.number() }));
      return calls;
    },
    async close() {
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

/** Resolves once `value()` has not changed for `polls` looks in a row. */
async function settled(value: () => Promise<number>, polls = 20): Promise<void> {
  let last = await value();
  let same = 0;
  while (same < polls) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await value();
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

/**
 * A WebSocket client that sends many large calls and reads none of the answers must not make
 * the API hold them all: the real API process (src/node/server.ts), memory read from /proc.
 */
describe('/mcp over WebSocket: backpressure', () => {
  let api: SpawnedNode;
  let base: string;
  let upstream: Awaited<ReturnType<typeof startBareEchoServer>>;

  beforeAll(async () => {
    upstream = await startBareEchoServer();
    const name = `bp_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const port = await freePort();
    base = `127.0.0.1:${port}`;
    api = spawnEntry('src/node/server.ts', {
      BACKEND_PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: inject('postgresUrl').replace(/\/postgres$/, `/${name}`),
      JWT_SECRET: TEST_JWT_SECRET,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      MCP_URL: upstream.url,
      MCP_WS_MAX_IN_FLIGHT: String(IN_FLIGHT),
      MCP_WS_MAX_BUFFERED_BYTES: String(2 * 1024 * 1024),
    });
    await waitForHttp(`http://${base}/health/live`);
  }, PROCESS_HOOK_MS);
  afterAll(async () => {
    if (api?.child.exitCode === null) api.child.kill('SIGKILL');
    await upstream?.close();
  });

  it('stops reading a client that does not read its answers, and loses nothing once it does', async () => {
    const register = await fetch(`http://${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reader', email: 'reader@example.com', password: 'correct-horse-battery' }),
    });
    const { accessToken } = await readJson(register, bodies.session);
    const socket = new WebSocket(`ws://${base}/mcp?token=${accessToken}`, 'mcp');
    await once(socket, 'open');
    const answered = new Set<number>();
    socket.on('message', (data: Buffer) => {
      // The id may come last, after a 900 KB result.
      const id = /"id":(\d+)/.exec(`${data.toString('utf8', 0, 100)} ${data.toString('utf8', data.length - 100)}`)?.[1];
      if (id) answered.add(Number(id));
    });
    socket.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'slow-reader', version: '1' } },
      }),
    );
    await eventually(() => answered.has(0), 10_000);
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    const pid = api.child.pid as number;
    const before = rssOf(pid);
    const echoes = () => upstream.calls();

    socket.pause();
    for (let id = 1; id <= CALLS; id++) {
      socket.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'echo', arguments: { text: TEXT } },
        }),
      );
    }
    // Until the API stops taking: what it forwarded, and what the client still holds, no longer move.
    await settled(async () => (await echoes()) * 1e12 + socket.bufferedAmount);
    const grown = rssOf(pid) - before;
    // Frames `ws` had already taken off the socket when reading stopped still come through: a few
    // more than the cap, however many the client sends.
    expect(await echoes()).toBeLessThanOrEqual(IN_FLIGHT + 8);
    expect(socket.bufferedAmount).toBeGreaterThan(100 * 1024 * 1024);
    expect(grown).toBeLessThan(80 * 1024 * 1024);

    socket.resume();
    await eventually(() => answered.size === CALLS + 1, 60_000);
    expect(await echoes()).toBe(CALLS);
    socket.close();
  }, 120_000);
});
