// Does one abusive account hurt everyone else? The real API process (`src/node/server.ts`,
// single-process mode: it executes runs itself, as in the report that stalled /health/live) on a
// real Postgres. A probe in this process measures `GET /health`, `GET /health/live` and, as another
// user (the bystander), `GET /profile` latency twice in the same run: idle, then while an attacker (a child process, so its own work does not
// slow the probe) does both things the hardening issue reported:
// - result amplification: executes a 15 KB workflow whose first step echoes 900 copies of a 1 KB
//   input and whose 19 later steps copy it (18 MB per run before the run budget), keeps 8 runs in
//   flight, and lists `GET /api/workflows/queue?limit=100` from 4 loops;
// - a /ws flood: opens 50 sockets (the per-user cap lets 20 through), subscribes them all to one
//   channel, and publishes 60 KB messages from each as fast as the rate limiter lets it; half the
//   sockets never read (slow consumers), and closed sockets are reopened.
//
//   npm run bench:abuse        # knobs: ABUSE_PHASE_MS (10000), ABUSE_PROBE_INTERVAL_MS (20)
//   ABUSE_API_CPU=1 taskset -c 0 npm run bench:abuse   # the API on its own core (see below)
//
// Reported: p50/p99/max of each probe per phase and the ratio abuse/idle; what the attacker got
// (sockets accepted and refused, slow-consumer closes, runs stopped by the budget, executes
// refused by the quota, largest run stored); the server's CPU (from /proc) and RSS per phase.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { tsImport } from 'tsx/esm/api';
import WebSocket from 'ws';
import { cpuMs, mainThreadSchedMs } from './process-cpu.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHASE_MS = Number(process.env.ABUSE_PHASE_MS ?? 10_000);
const PROBE_INTERVAL_MS = Number(process.env.ABUSE_PROBE_INTERVAL_MS ?? 20);
// Which attack runs: both (default), or one of them alone to see what each costs.
const ATTACK = process.env.ABUSE_ATTACK ?? 'both';
if (!['both', 'flood', 'amplification'].includes(ATTACK)) throw new Error('ABUSE_ATTACK: both, flood or amplification');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : Number.NaN;
}

/** Bytes of response bodies this process received through `call` (the attacker's reports it). */
let receivedBytes = 0;

async function call(api, method, path, body, token) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  receivedBytes += text.length;
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function register(api, name) {
  const username = `${name}_${crypto.randomUUID().slice(0, 8)}`;
  const res = await call(api, 'POST', '/auth/register', {
    username,
    email: `${username}@example.com`,
    password: 'correct-horse-battery',
  });
  if (res.status !== 201) throw new Error(`register: ${res.status}`);
  return res.json.accessToken;
}

// ---------------------------------------------------------------- attacker (child process)

async function attack(api, token, durationMs) {
  const until = Date.now() + durationMs;
  const stats = {
    socketsAccepted: 0,
    socketsRefused: 0,
    closes: {},
    published: 0,
    executes: 0,
    executesRefused: 0,
    runsFailedByBudget: 0,
    queueLists: 0,
    runPolls: 0,
    // Answers 429 to the attacker's HTTP requests (the per-user HTTP budget); it keeps going regardless.
    httpRefused: 0,
    requestErrors: 0,
  };
  const wsUrl = `${api.replace(/^http/, 'ws')}/ws?token=${token}`;
  const blob = 'f'.repeat(60_000);

  const socketLoop = async (index) => {
    const reads = index % 2 === 0;
    while (Date.now() < until) {
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
      const opened = await new Promise((resolve) => {
        ws.once('open', () => resolve(true));
        ws.once('unexpected-response', () => resolve(false));
        ws.once('error', () => resolve(false));
      });
      if (!opened) {
        stats.socketsRefused++;
        ws.terminate();
        await sleep(1000);
        continue;
      }
      stats.socketsAccepted++;
      if (!reads) ws._socket.pause();
      const closed = new Promise((resolve) =>
        ws.once('close', (code) => {
          stats.closes[code] = (stats.closes[code] ?? 0) + 1;
          resolve();
        }),
      );
      ws.send(JSON.stringify({ event: 'subscribe', channel: 'flood', payload: {} }));
      let open = true;
      closed.then(() => {
        open = false;
      });
      while (open && Date.now() < until) {
        // Up to the per-connection rate limit (bursts of 200, then 50/s): more is refused anyway.
        if (ws.bufferedAmount < 1_000_000) {
          ws.send(JSON.stringify({ event: 'publish', channel: 'flood', payload: { blob } }));
          stats.published++;
        }
        await sleep(5);
      }
      ws.terminate();
      await closed;
    }
  };

  const amplification = async () => {
    const steps = [
      { id: 's0', tool: 'echo', arguments: { text: 's0', v: Array.from({ length: 900 }, () => '{{input.s}}') } },
      ...Array.from({ length: 19 }, (_, i) => ({
        id: `s${i + 1}`,
        tool: 'echo',
        arguments: { text: `s${i + 1}`, v: '{{steps.s0.v}}' },
      })),
    ];
    const created = await call(api, 'POST', '/api/workflows', { name: 'amplify', steps }, token);
    const workflowId = created.json.workflow.id;
    const input = { input: { s: 'x'.repeat(1000) } };
    const runOnce = async () => {
      const res = await call(api, 'POST', `/api/workflows/${workflowId}/execute`, input, token);
      if (res.status !== 202) {
        if (res.status === 429) stats.httpRefused++;
        stats.executesRefused++;
        await sleep(200);
        return;
      }
      stats.executes++;
      const runId = res.json.run.id;
      for (;;) {
        const polled = await call(api, 'GET', `/api/workflows/runs/${runId}`, undefined, token);
        stats.runPolls++;
        if (polled.status === 429) stats.httpRefused++;
        const run = polled.json.run;
        if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) {
          if (/RUN_RESULT_BUDGET_BYTES/.test(run.error ?? '')) stats.runsFailedByBudget++;
          return;
        }
        if (Date.now() > until) return;
        await sleep(100);
      }
    };
    const listOnce = async () => {
      const res = await call(api, 'GET', '/api/workflows/queue?limit=100', undefined, token);
      stats.queueLists++;
      if (res.status === 429) stats.httpRefused++;
    };
    // A request that fails (a kept-alive connection the server closed meanwhile) is counted and the loop goes on.
    const loop = (once) => async () => {
      while (Date.now() < until) {
        await once().catch(async () => {
          stats.requestErrors++;
          await sleep(100);
        });
      }
    };
    await Promise.all([...Array.from({ length: 8 }, loop(runOnce)), ...Array.from({ length: 4 }, loop(listOnce))]);
  };

  await Promise.all([
    ...(ATTACK === 'amplification' ? [] : Array.from({ length: 50 }, (_, i) => socketLoop(i))),
    ...(ATTACK === 'flood' ? [] : [amplification()]),
  ]);
  return stats;
}

if (process.argv[2] === 'attacker') {
  const [api, token, durationMs] = process.argv.slice(3);
  const stats = await attack(api, token, Number(durationMs));
  stats.httpBytesReceived = receivedBytes;
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- probe and report (this process)

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function schedDelta(before, after) {
  return { running: after.running - before.running, waiting: after.waiting - before.waiting };
}

/** What the API's event-loop monitor measured since the previous call (it starts over). */
async function loopReport(pid) {
  rmSync(loopReportPath, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 500; i++) {
    try {
      return JSON.parse(readFileSync(loopReportPath, 'utf8'));
    } catch {
      await sleep(20);
    }
  }
  throw new Error('the API wrote no event-loop report');
}

const PROBED = ['/health', '/health/live', '/profile'];

/** Sequential probes of each route for `durationMs` (`/profile` as the bystander); latencies in ms per route. */
async function probe(api, durationMs, bystanderToken) {
  const until = Date.now() + durationMs;
  const samples = Object.fromEntries(PROBED.map((path) => [path, []]));
  let failures = 0;
  const headers = { authorization: `Bearer ${bystanderToken}` };
  while (Date.now() < until) {
    for (const path of PROBED) {
      const started = performance.now();
      try {
        const res = await fetch(`${api}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        if (res.status !== 200) failures++;
      } catch {
        failures++;
      }
      samples[path].push(performance.now() - started);
    }
    await sleep(PROBE_INTERVAL_MS);
  }
  const summary = {};
  for (const [path, values] of Object.entries(samples)) {
    const sorted = values.sort((a, b) => a - b);
    summary[path] = { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) };
  }
  return { summary, failures };
}

const { freePort, startPostgres } = await tsImport('../test/helpers/servers.ts', import.meta.url);
const pg = await startPostgres();
const port = await freePort();
const api = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'wfp-abuse-'));
// ABUSE_API_CPU=1 (run the bench itself under `taskset -c 0`): the API alone on core 1, the probe,
// the attacker and Postgres on core 0, so the ratio shows what the API's own work costs others.
// The event-loop monitor is a bench-only preload (see event-loop-monitor.mjs); ABUSE_CPU_PROF=<dir>
// also writes a V8 CPU profile of the API there when it exits.
const loopReportPath = join(dataDir, 'event-loop.json');
const apiCommand = [
  process.execPath,
  '--import',
  'tsx',
  '--import',
  './bench/event-loop-monitor.mjs',
  ...(process.env.ABUSE_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.ABUSE_CPU_PROF] : []),
  'src/node/server.ts',
];
const pinned = process.env.ABUSE_API_CPU ? ['taskset', '-c', process.env.ABUSE_API_CPU, ...apiCommand] : apiCommand;
const server = spawn(pinned[0], pinned.slice(1), {
  cwd: ROOT,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    BACKEND_PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
    LOG_LEVEL: 'warn',
    EVENT_LOOP_REPORT: loopReportPath,
    // Limits to try (WS_USER_BYTES_PER_SECOND=..., RUN_RESULT_BUDGET_BYTES=..., HTTP_USER_...) reach the API.
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => /^(WS|RUN|HTTP)_/.test(name))),
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
let attacker;
try {
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${api}/health/live`)
      .then((r) => r.ok)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error('API did not start');
    await sleep(200);
  }
  const attackerToken = await register(api, 'attacker');
  const bystanderToken = await register(api, 'bystander');
  await probe(api, 1000, bystanderToken); // warm-up: JIT, connections
  await loopReport(server.pid);

  const cpuIdle0 = cpuMs(server.pid);
  const schedIdle0 = mainThreadSchedMs(server.pid);
  const idle = await probe(api, PHASE_MS, bystanderToken);
  const cpuIdle = cpuMs(server.pid) - cpuIdle0;
  const schedIdle = schedDelta(schedIdle0, mainThreadSchedMs(server.pid));
  const rssIdle = rssMiB(server.pid);
  const loopIdle = await loopReport(server.pid);

  attacker = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'attacker', api, attackerToken, String(PHASE_MS + 2000)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let attackerOutput = '';
  attacker.stdout.on('data', (d) => {
    attackerOutput += d;
  });
  const attackerDone = new Promise((resolve) => attacker.once('exit', resolve));
  await sleep(1000); // let the attack ramp up before measuring
  await loopReport(server.pid); // the same window as the probes
  const cpuAbuse0 = cpuMs(server.pid);
  const schedAbuse0 = mainThreadSchedMs(server.pid);
  let rssPeak = rssMiB(server.pid);
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMiB(server.pid));
  }, 200);
  const abused = await probe(api, PHASE_MS, bystanderToken);
  clearInterval(rssTimer);
  const cpuAbuse = cpuMs(server.pid) - cpuAbuse0;
  const schedAbuse = schedDelta(schedAbuse0, mainThreadSchedMs(server.pid));
  const loopAbuse = await loopReport(server.pid);
  await attackerDone;
  const stats = JSON.parse(attackerOutput.trim().split('\n').at(-1) ?? '{}');

  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const [stored] =
    await sql`select max(octet_length(steps::text))::int as max_bytes, count(*)::int as runs from workflow_queue`;
  await sql.end();

  const fmt = (v) => (v === undefined ? '-' : v.toFixed(1));
  console.log(
    `\n/health while one user abuses the API (phases of ${PHASE_MS} ms, probe every ${PROBE_INTERVAL_MS} ms)\n`,
  );
  console.log('| route | idle p50 / p99 / max (ms) | under abuse p50 / p99 / max (ms) | p99 ratio |');
  console.log('|---|---|---|---|');
  for (const path of PROBED) {
    const a = idle.summary[path];
    const b = abused.summary[path];
    console.log(
      `| \`${path}\` | ${fmt(a.p50)} / ${fmt(a.p99)} / ${fmt(a.max)} | ${fmt(b.p50)} / ${fmt(b.p99)} / ${fmt(b.max)} | ${(b.p99 / a.p99).toFixed(2)}× |`,
    );
  }
  console.log(`\nprobe failures: idle ${idle.failures}, under abuse ${abused.failures}`);
  console.log(
    `server CPU: idle ${((cpuIdle / PHASE_MS) * 100).toFixed(0)}% of a core, under abuse ${((cpuAbuse / PHASE_MS) * 100).toFixed(0)}%; RSS idle ${rssIdle} MiB, peak under abuse ${rssPeak} MiB`,
  );
  console.log(
    '\n| API event loop | delay p50 / p99 / max (ms) | stalls ≥ 50 ms (count, total ms) | GC pauses (count, total / longest ms) |',
  );
  console.log('|---|---|---|---|');
  for (const [phase, loop] of [
    ['idle', loopIdle],
    ['under abuse', loopAbuse],
  ]) {
    const gc = Object.entries(loop.gc)
      .map(([kind, g]) => `${kind} ${g.count}, ${g.totalMs} / ${g.maxMs}`)
      .join('; ');
    console.log(
      `| ${phase} | ${fmt(loop.delay.p50)} / ${fmt(loop.delay.p99)} / ${fmt(loop.delay.max)} | ${loop.stallsOver50ms}, ${loop.stallMsTotal} | ${gc || '-'} |`,
    );
  }
  for (const [phase, sched] of [
    ['idle', schedIdle],
    ['under abuse', schedAbuse],
  ]) {
    console.log(
      `API main thread ${phase}: on a CPU ${((sched.running / PHASE_MS) * 100).toFixed(0)}% of the phase, runnable but waiting for a CPU ${((sched.waiting / PHASE_MS) * 100).toFixed(0)}%`,
    );
  }
  console.log(
    `longest stalls under abuse (ms into the phase: length = running + waiting for a CPU): ${loopAbuse.stalls.map((s) => `${s.atMs}: ${s.ms} = ${s.runningMs} + ${s.waitingMs}`).join(', ')}`,
  );
  console.log(
    `longest stretches the API's loop ran without reaching its timers (ms): idle ${loopIdle.longestRunningMs.join(', ') || '-'}; under abuse ${loopAbuse.longestRunningMs.join(', ') || '-'}`,
  );
  const probesIdle = PROBED.reduce((sum, path) => sum + idle.summary[path].n, 0);
  console.log(`server CPU per probe request, idle: ${(cpuIdle / probesIdle).toFixed(2)} ms`);
  console.log(`attacker (${ATTACK}): ${JSON.stringify(stats)}`);
  console.log(`largest run stored: ${stored.max_bytes} bytes of steps (${stored.runs} runs)`);
} finally {
  attacker?.kill('SIGKILL');
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await pg.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
