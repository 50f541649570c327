// WebSocket fan-out benchmark: the real API process (`src/node/server.ts`, /ws with auth, ACL,
// limits, node-ws) against a bare `ws` broadcast server (bench/ws-bare-server.mjs), same run,
// same clients, same machine. Both servers are child processes; the clients live here.
//
//   node bench/ws.mjs                       # 1,000 connections; 1 channel, then 100 channels x 10
//   WS_BENCH_REDIS=1 node bench/ws.mjs      # also the API with REDIS_URL (Redis pub/sub hub); needs redis-server
//
// Knobs: WS_BENCH_CONNECTIONS (1000), WS_BENCH_DURATION_MS (5000), WS_BENCH_PACED (5000 deliveries/s),
// WS_BENCH_ROUNDS (3). Every run gets fresh server processes, so memory and GC state do not leak
// between runs; the servers take turns, and each row is the run with the median delivery rate.
// Saturation: the publisher keeps a window of 8 x CONNECTIONS deliveries in flight (so neither
// server is asked to buffer without bound) and the delivered rate is measured over the run.
// Latency: publish-to-receive, from a timestamp in the payload, sampled on every 10th client;
// reported under saturation (queueing in the window included) and at a paced rate.
// Memory: the server's RSS growth over the connect + subscribe phase, per connection.
// CPU: the server's and this process's CPU time over the saturated phase, as % of one core, and
// the server's CPU time per delivered message. On a shared machine the wall-clock rate swings
// with whatever else runs; CPU per delivery does not, so both are reported and compared.
// The API runs on a real Postgres (test/helpers/servers.ts, from the system binaries).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { tsImport } from 'tsx/esm/api';
import WebSocket from 'ws';

// The test harness's helpers (TypeScript), loaded through tsx: this script itself runs on plain node.
const { freePort, startPostgres } = await tsImport('../test/helpers/servers.ts', import.meta.url);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = Number(process.env.WS_BENCH_CONNECTIONS ?? 1000);
const DURATION_MS = Number(process.env.WS_BENCH_DURATION_MS ?? 5000);
const PACED_DELIVERIES = Number(process.env.WS_BENCH_PACED ?? 5000);
const ROUNDS = Number(process.env.WS_BENCH_ROUNDS ?? 3);
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long';
const TEXT = 'x'.repeat(64);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rssBytes(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** utime + stime of a process, in milliseconds. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function spawnServer(args, env) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  return { child, output: () => output };
}

async function waitFor(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start`);
}

async function startBare() {
  const port = await freePort();
  const server = spawnServer(['bench/ws-bare-server.mjs'], { PORT: String(port) });
  await waitFor('bare ws server', async () => server.output().includes('"listening"'));
  return {
    name: 'bare ws',
    url: `ws://127.0.0.1:${port}`,
    pid: server.child.pid,
    stop: () => server.child.kill('SIGTERM'),
  };
}

async function startApi({ redisUrl, databaseUrl }) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'wfp-bench-'));
  const server = spawnServer(['--import', 'tsx', 'src/node/server.ts'], {
    NODE_ENV: 'production',
    BACKEND_PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: SECRET,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    // The single publisher sends far more than the per-connection default of 50 messages/s.
    WS_MESSAGES_PER_SECOND: '1000000',
    // One token (one user) holds every bench connection.
    WS_MAX_CONNECTIONS_PER_USER: String(CONNECTIONS + 100),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
  await waitFor('API server', async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok);
  const token = await new SignJWT({ role: 'user', username: 'bench' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(crypto.randomUUID())
    .setIssuer('workflow-platform')
    .setAudience('workflow-platform-api')
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(SECRET));
  return {
    name: redisUrl ? 'API /ws (Redis hub)' : 'API /ws',
    url: `ws://127.0.0.1:${port}/ws?token=${token}`,
    pid: server.child.pid,
    stop: () => {
      server.child.kill('SIGTERM');
      setTimeout(() => rmSync(dataDir, { recursive: true, force: true }), 2000).unref();
    },
  };
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

function subscribe(ws, channel) {
  return new Promise((resolve) => {
    ws.once('message', () => resolve());
    ws.send(JSON.stringify({ event: 'subscribe', channel, payload: {} }));
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One scenario against one server: connect, subscribe, saturate, then a paced run. */
async function runScenario(server, channelCount) {
  const perChannel = CONNECTIONS / channelCount;
  // Warm the server up first (JIT, buffers, start-up garbage collected), then take the baseline.
  const warmup = await Promise.all(Array.from({ length: 200 }, () => open(server.url)));
  await Promise.all(warmup.map((ws, i) => subscribe(ws, `warmup-${i}`)));
  for (const ws of warmup) ws.close();
  await sleep(2000);
  const rssBefore = rssBytes(server.pid);
  const clients = [];
  const state = { delivered: 0, latencies: null, lastAt: 0 };
  for (let start = 0; start < CONNECTIONS; start += 50) {
    const batch = [];
    for (let i = start; i < Math.min(CONNECTIONS, start + 50); i++) {
      batch.push(
        open(server.url).then(async (ws) => {
          await subscribe(ws, `bench-${i % channelCount}`);
          const sampled = i % 10 === 0;
          ws.on('message', (data) => {
            state.delivered++;
            state.lastAt = performance.now();
            if (sampled && state.latencies) state.latencies.push(performance.now() - JSON.parse(data).payload.t);
            state.onDelivery?.();
          });
          clients.push(ws);
        }),
      );
    }
    await Promise.all(batch);
  }
  await sleep(500);
  const memoryPerConnection = (rssBytes(server.pid) - rssBefore) / CONNECTIONS;
  const publisher = await open(server.url);
  let seq = 0;
  const publish = () => {
    const channel = `bench-${seq % channelCount}`;
    publisher.send(
      `{"event":"publish","channel":"${channel}","payload":{"t":${performance.now()},"seq":${seq++},"text":"${TEXT}"}}`,
    );
  };

  // Saturation: keep the window full for DURATION_MS.
  const maxInFlight = 8 * CONNECTIONS;
  state.delivered = 0;
  state.latencies = [];
  seq = 0;
  let running = true;
  const fill = () => {
    while (running && seq * perChannel - state.delivered < maxInFlight) publish();
  };
  state.onDelivery = fill;
  const started = performance.now();
  const serverCpuBefore = cpuMs(server.pid);
  const selfCpuBefore = process.cpuUsage();
  fill();
  await sleep(DURATION_MS);
  running = false;
  const elapsed = performance.now() - started;
  const serverCpu = (cpuMs(server.pid) - serverCpuBefore) / elapsed;
  const selfUsage = process.cpuUsage(selfCpuBefore);
  const clientCpu = (selfUsage.user + selfUsage.system) / 1000 / elapsed;
  const expected = () => seq * perChannel;
  const drainDeadline = Date.now() + 10_000;
  while (state.delivered < expected() && Date.now() < drainDeadline) await sleep(10);
  const saturated = {
    published: seq,
    delivered: state.delivered,
    lost: expected() - state.delivered,
    perSecond: state.delivered / ((state.lastAt - started) / 1000),
    serverCpuUsPerDelivery: ((serverCpu * elapsed) / state.delivered) * 1000,
    latencies: state.latencies.sort((a, b) => a - b),
    serverCpu,
    clientCpu,
  };

  // Paced: PACED_DELIVERIES per second for 3 s, one publish every 1/rate s.
  state.onDelivery = undefined;
  state.latencies = [];
  state.delivered = 0;
  seq = 0;
  const rate = PACED_DELIVERIES / perChannel;
  const pacedStart = performance.now();
  for (let n = 0; n < rate * 3; n++) {
    publish();
    const next = pacedStart + ((n + 1) * 1000) / rate;
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
  }
  const pacedDeadline = Date.now() + 10_000;
  while (state.delivered < seq * perChannel && Date.now() < pacedDeadline) await sleep(10);
  const paced = { latencies: state.latencies.sort((a, b) => a - b), lost: seq * perChannel - state.delivered };

  for (const ws of [...clients, publisher]) ws.terminate();
  await sleep(1000);
  return { server: server.name, channelCount, perChannel, memoryPerConnection, saturated, paced };
}

function row(r) {
  const s = r.saturated;
  return [
    r.server,
    `${r.channelCount} x ${r.perChannel}`,
    Math.round(s.perSecond).toLocaleString('en-US'),
    s.serverCpuUsPerDelivery.toFixed(2),
    `${percentile(s.latencies, 50).toFixed(1)} / ${percentile(s.latencies, 99).toFixed(1)}`,
    `${percentile(r.paced.latencies, 50).toFixed(2)} / ${percentile(r.paced.latencies, 99).toFixed(2)}`,
    `${(r.memoryPerConnection / 1024).toFixed(1)} KiB`,
    `${Math.round(s.serverCpu * 100)}% / ${Math.round(s.clientCpu * 100)}%`,
    String(s.lost + r.paced.lost),
  ];
}

async function main() {
  let redis;
  const postgres = await startPostgres();
  try {
    const starters = [startBare, () => startApi({ databaseUrl: postgres.url })];
    if (process.env.WS_BENCH_REDIS) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'wfp-bench-redis-'));
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir], {
        stdio: 'ignore',
      });
      await sleep(300);
      starters.push(() => startApi({ databaseUrl: postgres.url, redisUrl: `redis://127.0.0.1:${port}` }));
    }
    const results = [];
    for (const channelCount of [1, 100]) {
      const runs = new Map();
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate who goes first, so neither server always runs on a warmer (or busier) machine.
        const order = round % 2 === 0 ? starters : [...starters].reverse();
        for (const start of order) {
          const server = await start();
          try {
            await sleep(1000);
            const result = await runScenario(server, channelCount);
            process.stderr.write(
              `${server.name} ${channelCount} channel(s), round ${round + 1}: ${Math.round(result.saturated.perSecond)} msg/s\n`,
            );
            runs.set(server.name, [...(runs.get(server.name) ?? []), result]);
          } finally {
            server.stop();
          }
        }
      }
      for (const list of runs.values()) {
        list.sort((a, b) => a.saturated.perSecond - b.saturated.perSecond);
        const median = list[Math.floor(list.length / 2)];
        const cpu = list.map((r) => r.saturated.serverCpuUsPerDelivery).sort((a, b) => a - b);
        median.saturated.serverCpuUsPerDelivery = cpu[Math.floor(cpu.length / 2)];
        results.push(median);
      }
    }
    const header = [
      'server',
      'channels x subscribers',
      'delivered msg/s',
      'server CPU µs / delivery',
      'p50 / p99 ms (saturated)',
      `p50 / p99 ms (${PACED_DELIVERIES} deliveries/s)`,
      'memory / connection',
      'CPU server / clients',
      'lost',
    ];
    const [load1] = loadavg();
    console.log(
      `${CONNECTIONS} connections, ${DURATION_MS} ms saturated + 3 s paced per run, median of ${ROUNDS} runs; ` +
        `${cpus().length} CPUs, load average ${load1.toFixed(1)} at the end; Node ${process.version}\n`,
    );
    const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
    for (const r of results) lines.push(`| ${row(r).join(' | ')} |`);
    console.log(lines.join('\n'));
    console.log();
    for (const channelCount of [1, 100]) {
      const of = (name) => results.find((r) => r.server === name && r.channelCount === channelCount);
      const bare = of('bare ws').saturated;
      for (const r of results.filter((x) => x.channelCount === channelCount && x.server !== 'bare ws')) {
        console.log(
          `${channelCount} channel(s): ${r.server} delivers ${(r.saturated.perSecond / bare.perSecond).toFixed(2)}x the bare ws rate ` +
            `(wall clock), ${(bare.serverCpuUsPerDelivery / r.saturated.serverCpuUsPerDelivery).toFixed(2)}x per server CPU second`,
        );
      }
    }
  } finally {
    redis?.kill('SIGTERM');
    await postgres.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
