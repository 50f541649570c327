/**
 * MCP gateway benchmark (npm run bench:mcp): tool calls per second and latency through the
 * API's /mcp gateway versus calling the same upstream MCP server directly, in the same run.
 *
 * Starts on 127.0.0.1: the standalone built-in MCP server (src/node/mcp-server.ts, Streamable
 * HTTP + WebSocket) as the upstream, and two APIs (src/node/server.ts, embedded PGlite in temp
 * dirs), one with MCP_URL=http://…/mcp and one with MCP_URL=ws://…/ws, and a reference: a bare
 * pass-through proxy (bench/mcp-passthrough-proxy.ts: forwards, authenticates and parses nothing),
 * whose ratio is the cost of the extra hop alone on this machine. Every client is the official
 * SDK `Client`, calling `echo` (pure overhead), then `sleep` for --work_ms (a tool that does some
 * I/O), in a closed loop. Direct, gateway and reference sessions are opened once and then
 * measured in alternating short slices (so background load weighs on all alike), pooled per side.
 *
 * Options (flag or environment): --duration=10 (BENCH_DURATION, seconds per side), --slice=0.5
 * (BENCH_SLICE, seconds), --warmup=2 (BENCH_WARMUP, seconds), --clients=1,8 (BENCH_CLIENTS,
 * concurrent clients per scenario), --work_ms=10 (BENCH_WORK_MS, 0 = echo only), --log_level=info (BENCH_LOG_LEVEL, the API's LOG_LEVEL; logs go to /dev/null),
 * --cpu_prof=<dir> (BENCH_CPU_PROF: the APIs under `node --cpu-prof`, profiles written there when they stop).
 * Server cost per call is CPU time and read/write system calls from /proc (steadier than latency on a shared machine).
 * Prints a markdown table for bench/RESULTS.md, and on stderr why calls failed, if any did.
 * Everything it starts is stopped at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { tsImport } from 'tsx/esm/api';
import { WebSocket } from 'ws';
import { cpuMs, syscalls } from './process-cpu.mjs';
import './quiet-sdk-client-warnings.mjs';

// The test harness's helpers (TypeScript), loaded through tsx: this script itself runs on plain node.
const { freePort, stopProcess } = await tsImport('../test/helpers/servers.ts', import.meta.url);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
globalThis.WebSocket ??= WebSocket;

function option(name, fallback) {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  return flag ?? process.env[`BENCH_${name.toUpperCase()}`] ?? fallback;
}
const DURATION_S = Number(option('duration', '10'));
const SLICE_S = Number(option('slice', '0.5'));
const WARMUP_S = Number(option('warmup', '2'));
const CLIENTS = String(option('clients', '1,8'))
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const LOG_LEVEL = String(option('log_level', 'info'));
/** A directory: the APIs run under `node --cpu-prof` and write their V8 CPU profiles there when stopped. */
const CPU_PROF_DIR = String(option('cpu_prof', ''));
/** Milliseconds of simulated tool work (the built-in `sleep` tool) for the second workload; 0 skips it. */
const WORK_MS = Number(option('work_ms', '10'));
const WORKLOADS = [
  { label: '`echo`', call: (i) => ({ name: 'echo', arguments: { text: `call ${i}` } }) },
  ...(WORK_MS > 0
    ? [{ label: `\`sleep\` ${WORK_MS} ms`, call: () => ({ name: 'sleep', arguments: { ms: WORK_MS } }) }]
    : []),
];
const TARGET_RATIO = 1.3;

const children = [];
let dataDir;

/** Runs a TypeScript entry under tsx (as `npm start` does) and waits until `readyUrl` answers. */
async function startProcess(file, env, readyUrl, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode}:\n${stderr}`);
    if (
      await fetch(readyUrl).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${file} did not answer within 60 s:\n${stderr}`);
}

async function connectClient(target) {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(target.transport());
  return client;
}

const newRun = () => ({
  latencies: [],
  failures: 0,
  why: new Map(),
  seconds: 0,
  cpu: { upstream: 0, api: 0 },
  apiSyscalls: 0,
});

/** Counts a failed call under what went wrong, so that a run with failures says why. */
function failed(run, reason) {
  run.failures++;
  const key = reason.slice(0, 240);
  run.why.set(key, (run.why.get(key) ?? 0) + 1);
}

/** An error with its cause (fetch reports the socket's error only there). */
function describeFailure(error) {
  const cause = error?.cause;
  const detail = cause ? ` (${[cause.code, cause.message].filter(Boolean).join(': ')})` : '';
  return `${String(error)}${detail}`;
}

/** Opens `clients` SDK sessions to a target (initialize done), reused for every slice. */
async function openSessions(target, clients) {
  return Promise.all(Array.from({ length: clients }, () => connectClient(target)));
}

/** Every session calls the workload tool in a closed loop for `seconds`; each call's latency (ms) is appended to `into`. */
async function slice(sessions, seconds, into, workload, pids) {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  const upstreamBefore = cpuMs(pids.upstream);
  const apiBefore = cpuMs(pids.api);
  const apiSyscallsBefore = syscalls(pids.api);
  await Promise.all(
    sessions.map(async (client, index) => {
      let n = 0;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const result = await client.callTool(workload.call(`${index}-${n++}`));
          if (result.isError) failed(into, `tool error: ${JSON.stringify(result.content)}`);
          else into.latencies.push(performance.now() - t0);
        } catch (error) {
          failed(into, describeFailure(error));
        }
      }
    }),
  );
  into.seconds += (performance.now() - started) / 1000;
  into.cpu.upstream += cpuMs(pids.upstream) - upstreamBefore;
  into.cpu.api += cpuMs(pids.api) - apiBefore;
  into.apiSyscalls += syscalls(pids.api) - apiSyscallsBefore;
}

/**
 * Direct, gateway and the bare pass-through proxy alternate in short slices, so that whatever
 * else the machine is doing weighs on all alike; each side's slices are pooled.
 */
async function compare(pair, clients, workload) {
  const sides = [];
  for (const [name, target, pid] of [
    ['direct', pair.direct, undefined],
    ['gateway', pair.gateway, pair.pids.api],
    ['reference', pair.reference, pair.pids.reference],
  ]) {
    sides.push({
      name,
      sessions: await openSessions(target, clients),
      run: newRun(),
      pids: { upstream: pair.pids.upstream, api: pid },
    });
  }
  const warm = newRun();
  for (const side of sides) await slice(side.sessions, WARMUP_S / sides.length, warm, workload, side.pids);
  const slices = Math.max(1, Math.round(DURATION_S / SLICE_S));
  for (let i = 0; i < slices; i++) {
    // Alternate the order, so no side always follows the same other.
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      await slice(side.sessions, SLICE_S, side.run, workload, side.pids);
    }
  }
  await Promise.all(sides.flatMap((side) => side.sessions).map((client) => terminate(client)));
  for (const side of sides) {
    for (const [reason, count] of side.run.why) console.error(`  ${side.name} failed ${count}x: ${reason}`);
  }
  const [direct, gateway, reference] = sides.map((side) => summarize(side.run));
  return { direct, gateway, reference };
}

async function terminate(client) {
  await client.transport?.terminateSession?.().catch(() => {});
  await client.close().catch(() => {});
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarize(run) {
  const latencies = run.latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    failures: run.failures,
    rps: latencies.length / run.seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    upstreamCpuMs: run.cpu.upstream / Math.max(1, latencies.length),
    apiCpuMs: run.cpu.api / Math.max(1, latencies.length),
    apiSyscalls: run.apiSyscalls / Math.max(1, latencies.length),
  };
}

async function main() {
  dataDir = mkdtempSync(join(tmpdir(), 'bench-mcp-'));
  const upstreamPort = await freePort();
  const upstream = await startProcess(
    'src/node/mcp-server.ts',
    { MCP_SERVER_PORT: String(upstreamPort), MCP_SERVER_HOST: '127.0.0.1' },
    `http://127.0.0.1:${upstreamPort}/health`,
  );
  const upstreamHttp = `http://127.0.0.1:${upstreamPort}/mcp`;
  const upstreamWs = `ws://127.0.0.1:${upstreamPort}/ws`;

  // One API per upstream transport, so that each row compares like with like: a client on
  // transport X calling the upstream over X directly, or through the gateway whose MCP_URL uses X.
  const startApi = async (mcpUrl) => {
    const port = await freePort();
    const dir = mkdtempSync(join(dataDir, 'api-'));
    const child = await startProcess(
      'src/node/server.ts',
      {
        BACKEND_PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
        MCP_URL: mcpUrl,
        MCP_MAX_SESSIONS_PER_USER: '1000',
        NODE_ENV: 'production',
        LOG_LEVEL: LOG_LEVEL,
      },
      `http://127.0.0.1:${port}/health/live`,
      CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : [],
    );
    return { port, pid: child.pid };
  };
  const httpApi = await startApi(upstreamHttp);
  const wsApi = await startApi(upstreamWs);
  // The floor: a proxy that only forwards (bench/mcp-passthrough-proxy.ts), for both transports.
  const proxyPort = await freePort();
  const proxy = await startProcess(
    'bench/mcp-passthrough-proxy.ts',
    { BACKEND_PORT: String(proxyPort), MCP_URL: upstreamHttp, MCP_WS_URL: upstreamWs },
    `http://127.0.0.1:${proxyPort}/health/live`,
  );
  const httpApiPort = httpApi.port;
  const wsApiPort = wsApi.port;
  const username = `bench_${Date.now()}`;
  const registered = await fetch(`http://127.0.0.1:${httpApiPort}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, password: 'correct-horse-battery' }),
  });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  // Both APIs share the JWT secret, so the access token is good on either.
  const { accessToken } = await registered.json();

  const pairs = [
    {
      label: 'Streamable HTTP',
      pids: { upstream: upstream.pid, api: httpApi.pid, reference: proxy.pid },
      direct: { transport: () => new StreamableHTTPClientTransport(new URL(upstreamHttp)) },
      reference: { transport: () => new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`)) },
      gateway: {
        transport: () =>
          new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpApiPort}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
          }),
      },
    },
    {
      label: 'WebSocket',
      pids: { upstream: upstream.pid, api: wsApi.pid, reference: proxy.pid },
      direct: { transport: () => new WebSocketClientTransport(new URL(upstreamWs)) },
      reference: { transport: () => new WebSocketClientTransport(new URL(`ws://127.0.0.1:${proxyPort}/mcp`)) },
      gateway: {
        transport: () =>
          new WebSocketClientTransport(
            new URL(`ws://127.0.0.1:${wsApiPort}/mcp?token=${encodeURIComponent(accessToken)}`),
          ),
      },
    },
  ];

  const rows = [];
  for (const workload of WORKLOADS) {
    for (const pair of pairs) {
      for (const clients of CLIENTS) {
        const { direct: d, gateway: g, reference: r } = await compare(pair, clients, workload);
        rows.push({
          workload: workload.label,
          label: pair.label,
          clients,
          direct: d,
          gateway: g,
          reference: r,
          ratio: g.p50 / d.p50,
          floor: r.p50 / d.p50,
        });
        console.error(
          `${workload.label} ${pair.label} x${clients}: direct ${d.rps.toFixed(0)}/s p50 ${d.p50.toFixed(2)} ms; gateway ${g.rps.toFixed(0)}/s p50 ${g.p50.toFixed(2)} ms (${(g.p50 / d.p50).toFixed(2)}x); bare proxy p50 ${r.p50.toFixed(2)} ms (${(r.p50 / d.p50).toFixed(2)}x)`,
        );
      }
    }
  }

  const ms = (v) => v.toFixed(2);
  const lines = [
    `Node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model.trim() ?? 'unknown'}); the gateway reaches the upstream over the same transport as the client; LOG_LEVEL=${LOG_LEVEL}; ${DURATION_S} s per target in alternating ${SLICE_S} s slices, calls in a closed loop.`,
    '',
    '| tool | client transport | clients | direct calls/s | direct p50 / p99 ms | gateway calls/s | gateway p50 / p99 ms | added p50 ms | p50 gateway ÷ direct | bare proxy p50 ms | p50 bare proxy ÷ direct | upstream CPU/call | gateway CPU/call | bare proxy CPU/call | gateway / bare proxy syscalls/call | failures |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.label} | ${r.clients} | ${r.direct.rps.toFixed(0)} | ${ms(r.direct.p50)} / ${ms(r.direct.p99)} | ${r.gateway.rps.toFixed(0)} | ${ms(r.gateway.p50)} / ${ms(r.gateway.p99)} | ${ms(r.gateway.p50 - r.direct.p50)} | ${r.ratio.toFixed(2)}× | ${ms(r.reference.p50)} | ${r.floor.toFixed(2)}× | ${ms(r.direct.upstreamCpuMs)} ms | ${ms(r.gateway.apiCpuMs)} ms | ${ms(r.reference.apiCpuMs)} ms | ${r.gateway.apiSyscalls.toFixed(1)} / ${r.reference.apiSyscalls.toFixed(1)} | ${r.direct.failures + r.gateway.failures + r.reference.failures} |`,
    ),
  ];
  console.log(lines.join('\n'));
  console.log('');
  for (const workload of WORKLOADS) {
    for (const label of pairs.map((pair) => pair.label)) {
      const these = rows.filter((r) => r.workload === workload.label && r.label === label);
      const worst = Math.max(...these.map((r) => r.ratio));
      const floor = Math.max(...these.map((r) => r.floor));
      const verdict = worst <= TARGET_RATIO ? 'met' : 'not met';
      console.log(
        `${workload.label} over ${label}: worst p50 ratio ${worst.toFixed(2)}× (target ≤ ${TARGET_RATIO}×): ${verdict}; a bare pass-through proxy: ${floor.toFixed(2)}×`,
      );
    }
  }
}

try {
  await main();
} finally {
  await Promise.all(children.map((child) => stopProcess(child)));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
