/**
 * Two builds of the gateway side by side (npm run bench:mcp:builds -- <dirA> <dirB>): the same
 * no-op `echo` call over Streamable HTTP, one client, straight to the upstream and through the
 * API of each checkout (e.g. `git worktree add /tmp/before HEAD~1`, node_modules linked or
 * installed), all three taking turns in 0.5 s slices against one upstream. Differences of a few
 * tens of microseconds drown in run-to-run noise when builds are measured minutes apart; taking
 * turns puts both under the same background load.
 *
 * Options: --duration=40 (seconds in total, shared by the three sides). Prints p50, its ratio to
 * direct and the API's CPU per call (from /proc) for each side.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { tsImport } from 'tsx/esm/api';
import { cpuMs } from './process-cpu.mjs';
import './quiet-sdk-client-warnings.mjs';

const { freePort, stopProcess } = await tsImport('../test/helpers/servers.ts', import.meta.url);
const { waitForHttp } = await tsImport('../test/helpers/spawn-node.ts', import.meta.url);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const DURATION_S = Number(process.argv.find((a) => a.startsWith('--duration='))?.split('=')[1] ?? 40);
const SLICE_MS = 500;
if (dirs.length !== 2 || !dirs.every((dir) => existsSync(join(dir, 'src/node/server.ts')))) {
  console.error('usage: node bench/mcp-compare-builds.mjs <checkoutA> <checkoutB> [--duration=40]');
  process.exit(2);
}

const children = [];
const dataDir = mkdtempSync(join(tmpdir(), 'bench-builds-'));

async function start(cwd, file, env, readyUrl) {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitForHttp(readyUrl, 60_000);
  return child;
}

async function main() {
  const upstreamPort = await freePort();
  await start(
    ROOT,
    'src/node/mcp-server.ts',
    { MCP_SERVER_PORT: String(upstreamPort), MCP_SERVER_HOST: '127.0.0.1' },
    `http://127.0.0.1:${upstreamPort}/health`,
  );
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
  const sides = [{ name: 'direct', url: upstreamUrl }];
  for (const dir of dirs) {
    const port = await freePort();
    const child = await start(
      resolve(dir),
      'src/node/server.ts',
      {
        BACKEND_PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: mkdtempSync(join(dataDir, 'api-')),
        JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
        MCP_URL: upstreamUrl,
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
      },
      `http://127.0.0.1:${port}/health/live`,
    );
    const registered = await fetch(`http://127.0.0.1:${port}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'bench_builds',
        email: 'builds@example.com',
        password: 'correct-horse-battery',
      }),
    });
    const { accessToken } = await registered.json();
    sides.push({ name: dir, url: `http://127.0.0.1:${port}/mcp`, token: accessToken, pid: child.pid });
  }
  for (const side of sides) {
    side.latencies = [];
    side.cpuMs = 0;
    side.client = new Client({ name: 'bench-builds', version: '1.0.0' });
    const headers = side.token ? { authorization: `Bearer ${side.token}` } : {};
    await side.client.connect(new StreamableHTTPClientTransport(new URL(side.url), { requestInit: { headers } }));
  }

  let call = 0;
  const slice = async (side, record) => {
    const end = performance.now() + SLICE_MS;
    const cpuBefore = side.pid ? cpuMs(side.pid) : 0;
    while (performance.now() < end) {
      const started = performance.now();
      await side.client.callTool({ name: 'echo', arguments: { text: `call ${call++}` } });
      if (record) side.latencies.push(performance.now() - started);
    }
    if (record && side.pid) side.cpuMs += cpuMs(side.pid) - cpuBefore;
  };
  for (const side of sides) await slice(side, false);
  const rounds = Math.max(1, Math.round((DURATION_S * 1000) / SLICE_MS / sides.length));
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await slice(side, true);
  }

  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const direct = median(sides[0].latencies);
  for (const side of sides) {
    const p50 = median(side.latencies);
    const cpu = side.pid ? `, API CPU ${(side.cpuMs / side.latencies.length).toFixed(3)} ms/call` : '';
    console.log(
      `${side.name}: p50 ${p50.toFixed(3)} ms (${(p50 / direct).toFixed(3)}× direct), ${side.latencies.length} calls${cpu}`,
    );
  }
  await Promise.all(sides.map((side) => side.client.close().catch(() => {})));
}

try {
  await main();
} finally {
  await Promise.all(children.map((child) => stopProcess(child)));
  rmSync(dataDir, { recursive: true, force: true });
}
