/**
 * Queue benchmark (`npm run bench:queue`, i.e. `node --import tsx bench/queue.mjs`).
 *
 * Ours: N runs of a 1-step `echo` workflow, end to end: HTTP `POST /api/workflows/:id/execute`
 * on the API (src/node/server.ts, REDIS_URL set) → BullMQ → `npm run worker` → MCP echo over
 * Streamable HTTP on the standalone built-in server → `completed` row in Postgres.
 * Baseline: a bare BullMQ Queue + Worker doing the same MCP call (bench/bare-bullmq-worker.ts).
 * Both workers run as their own processes with the same concurrency, against the same Redis
 * and MCP server. Latency = the completion time the worker wrote (row finished_at /
 * job.finishedOn) minus the moment the client sent the request / add(), same host clock.
 *
 * Env: RUNS (default 1000), SEQUENTIAL (default 200), CONCURRENCY (worker, default 16),
 * INFLIGHT (client requests in flight, default 32).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freePort, startPostgres, startRedis } from '../test/helpers/servers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 1000);
const SEQUENTIAL = Number(process.env.SEQUENTIAL ?? 200);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const INFLIGHT = Number(process.env.INFLIGHT ?? 32);

const children = [];

function startProcess(file, env, readyLine) {
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', file],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output = (output + chunk).slice(-4000);
      if (readyLine && output.includes(readyLine)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)));
    setTimeout(() => reject(new Error(`${file} did not start:\n${output}`)), 60_000);
  });
}

async function waitForHttp(url) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (ms) used so far by every process, keyed by pid, with its command name. */
function cpuSnapshot() {
  const out = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { comm, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU ms per run of each part between two snapshots; anything else on the machine is "other". */
function cpuPerRun(before, after, runs, named) {
  const totals = {};
  for (const [pid, { comm, ms }] of after) {
    const used = ms - (before.get(pid)?.ms ?? 0);
    if (used <= 0) continue;
    const name =
      named.get(pid) ?? (comm.startsWith('postgres') ? 'postgres' : comm === 'redis-server' ? 'redis' : 'other');
    totals[name] = (totals[name] ?? 0) + used;
  }
  return Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, +(v / runs).toFixed(2)]));
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarize(label, samples) {
  const latencies = samples.map((s) => s.done - s.sent).sort((a, b) => a - b);
  const start = Math.min(...samples.map((s) => s.sent));
  const end = Math.max(...samples.map((s) => s.done));
  return {
    label,
    runs: samples.length,
    runsPerSec: Math.round((samples.length / (end - start)) * 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Runs `count` tasks with at most `limit` in flight. */
async function pool(count, limit, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function main() {
  const [pg, redisServer] = await Promise.all([startPostgres(), startRedis()]);
  const databaseUrl = pg.url;
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  const mcpPort = await freePort();
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const common = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisServer.url,
    MCP_URL: mcpUrl,
    JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
  };
  try {
    await startProcess('src/node/mcp-server.ts', { MCP_SERVER_PORT: String(mcpPort) }, 'listening');
    startProcess('src/node/server.ts', { ...common, BACKEND_PORT: String(apiPort), LOG_LEVEL: 'warn' }).catch((e) =>
      console.error(e.message),
    );
    await waitForHttp(`${api}/health/live`);
    await startProcess(
      'src/node/worker.ts',
      { ...common, LOG_LEVEL: 'info', WORKER_CONCURRENCY: String(CONCURRENCY) },
      'worker started',
    );

    const reg = await fetch(`${api}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', email: 'bench@example.com', password: 'bench-password' }),
    }).then((r) => r.json());
    const auth = { authorization: `Bearer ${reg.accessToken}`, 'content-type': 'application/json' };
    const { workflow } = await fetch(`${api}/api/workflows`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'bench', steps: [{ id: 'e', tool: 'echo', arguments: { text: 'hi' } }] }),
    }).then((r) => r.json());

    const executeOne = async () => {
      const sent = Date.now();
      const res = await fetch(`${api}/api/workflows/${workflow.id}/execute`, { method: 'POST', headers: auth });
      if (res.status !== 202) throw new Error(`execute answered ${res.status}: ${await res.text()}`);
      return { id: (await res.json()).run.id, sent };
    };
    const completionOf = async (ids) => {
      const rows = await sql`select id, status, finished_at from workflow_queue where id = any(${ids}::uuid[])`;
      return new Map(rows.map((r) => [r.id, r]));
    };
    const waitAllDone = async (ids) => {
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline) {
        const [{ open }] =
          await sql`select count(*)::int as open from workflow_queue where id = any(${ids}::uuid[]) and status in ('queued','running')`;
        if (open === 0) return;
        await new Promise((r) => setTimeout(r, ids.length === 1 ? 1 : 20));
      }
      throw new Error('runs did not finish');
    };
    const ourSamples = async (sent) => {
      const rows = await completionOf(sent.map((s) => s.id));
      return sent.map((s) => {
        const row = rows.get(s.id);
        if (row?.status !== 'completed') throw new Error(`run ${s.id} ended ${row?.status}`);
        return { sent: s.sent, done: row.finished_at.getTime() };
      });
    };

    // Warm-up: connections, JIT, MCP sessions.
    const warm = [];
    for (let i = 0; i < 20; i++) warm.push(await executeOne());
    await waitAllDone(warm.map((w) => w.id));

    const ourSeq = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const s = await executeOne();
      await waitAllDone([s.id]);
      ourSeq.push(s);
    }
    const ourLow = summarize('ours, one at a time', await ourSamples(ourSeq));

    const names = () =>
      new Map([
        [process.pid, 'bench client'],
        ...['mcp server', 'api', 'worker', 'bare worker'].map((name, i) => [children[i]?.pid, name]),
      ]);
    const ourLoad = [];
    const ourCpuBefore = cpuSnapshot();
    await pool(RUNS, INFLIGHT, async () => {
      ourLoad.push(await executeOne());
    });
    await waitAllDone(ourLoad.map((s) => s.id));
    const ourCpu = cpuPerRun(ourCpuBefore, cpuSnapshot(), RUNS, names());
    const ourHigh = summarize(`ours, ${INFLIGHT} in flight`, await ourSamples(ourLoad));

    // Baseline: bare BullMQ, same Redis, same MCP server, same concurrency.
    const queueName = 'bare-bench';
    await startProcess(
      'bench/bare-bullmq-worker.ts',
      { REDIS_URL: redisServer.url, MCP_URL: mcpUrl, QUEUE_NAME: queueName, CONCURRENCY: String(CONCURRENCY) },
      'bare worker started',
    );
    const connection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection });
    const events = new QueueEvents(queueName, {
      connection: new Redis(redisServer.url, { maxRetriesPerRequest: null }),
    });
    await events.waitUntilReady();
    const addOne = async (i) => {
      const sent = Date.now();
      const job = await queue.add('echo', { text: `hi ${i}` }, { removeOnComplete: false });
      return { job, sent };
    };
    const bareSamples = async (added) => {
      const out = [];
      for (const { job, sent } of added) {
        await job.waitUntilFinished(events, 60_000);
        const fresh = await queue.getJob(job.id);
        out.push({ sent, done: fresh.finishedOn });
      }
      return out;
    };
    for (let i = 0; i < 20; i++) await (await addOne(i)).job.waitUntilFinished(events, 60_000);
    const bareSeq = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const a = await addOne(i);
      await a.job.waitUntilFinished(events, 60_000);
      bareSeq.push(a);
    }
    const bareLow = summarize('bare BullMQ, one at a time', await bareSamples(bareSeq));
    const bareLoad = [];
    const bareCpuBefore = cpuSnapshot();
    await pool(RUNS, INFLIGHT, async (i) => {
      bareLoad.push(await addOne(i));
    });
    const bareHigh = summarize(`bare BullMQ, ${INFLIGHT} in flight`, await bareSamples(bareLoad));
    const bareCpu = cpuPerRun(bareCpuBefore, cpuSnapshot(), RUNS, names());
    await events.close();
    await queue.close();
    connection.disconnect();

    const table = [ourLow, bareLow, ourHigh, bareHigh];
    console.log(
      `\nQueue benchmark: ${RUNS} runs under load, ${SEQUENTIAL} one at a time, worker concurrency ${CONCURRENCY}\n`,
    );
    console.log('| scenario | runs | runs/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of table) console.log(`| ${r.label} | ${r.runs} | ${r.runsPerSec} | ${r.p50} | ${r.p99} |`);
    console.log(
      `\nthroughput ratio (ours / bare BullMQ) under load: ${(ourHigh.runsPerSec / bareHigh.runsPerSec).toFixed(2)}`,
    );
    console.log(`p50 at low load: ours ${ourLow.p50} ms, bare ${bareLow.p50} ms`);
    console.log('\nCPU ms per run under load, by process ("other" = anything else on the machine):');
    console.log(`  ours: ${JSON.stringify(ourCpu)}`);
    console.log(`  bare: ${JSON.stringify(bareCpu)}`);
  } finally {
    for (const child of children) child.kill(process.env.BENCH_CPU_PROF ? 'SIGINT' : 'SIGKILL');
    if (process.env.BENCH_CPU_PROF) await new Promise((r) => setTimeout(r, 3000));
    await sql.end({ timeout: 1 });
    await Promise.all([pg.stop(), redisServer.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  },
);
