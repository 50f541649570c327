/**
 * Queue benchmark (`npm run bench:queue`, i.e. `node --import tsx bench/queue.mjs`).
 *
 * Ours: runs of a 1-step `echo` workflow, end to end: HTTP `POST /api/workflows/:id/execute` on
 * the API (src/node/server.ts, REDIS_URL set) → BullMQ → `npm run worker` → MCP echo over
 * Streamable HTTP on the standalone built-in server → `completed` row in Postgres.
 * Baseline: a bare BullMQ Queue + Worker making the same MCP call (bench/bare-bullmq-worker.ts).
 * Both workers are their own processes with the same concurrency, on the same Redis and MCP
 * server, and both are measured in the same run, in alternating rounds, so that load from
 * anything else on the machine hits both alike. Latency = the completion time the worker wrote
 * (row finished_at / job.finishedOn) minus the moment the client sent the request / add().
 * Each process's CPU time is read from /proc, so the report also shows CPU per run by process
 * and the throughput per CPU-second of the system's own processes (independent of other load).
 *
 * Env: RUNS (under load, default 1000), ROUNDS (default 4), SEQUENTIAL (one at a time, default
 * 200), CONCURRENCY (worker, default 16), INFLIGHT (client requests in flight, default 32),
 * BENCH_CPU_PROF=1 (write .cpuprofile files of every child to /tmp/prof). Besides CPU per run, it prints
 * read/write system calls per run by process (from /proc/<pid>/io) and Postgres transactions and Redis
 * commands per run, since on this VM each system call, a loopback socket write above all, is dear.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freePort, startPostgres, startRedis } from '../test/helpers/servers.ts';
import { waitForHttp } from '../test/helpers/spawn-node.ts';
import { syscalls } from './process-cpu.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SEQUENTIAL = Number(process.env.SEQUENTIAL ?? 200);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const INFLIGHT = Number(process.env.INFLIGHT ?? 32);
const PROFILE = Boolean(process.env.BENCH_CPU_PROF);

const children = [];

function startProcess(name, file, env, readyLine) {
  const flags = PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push({ name, child });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output = (output + chunk).slice(-4000);
      if (readyLine && output.includes(readyLine)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)));
    if (!readyLine) resolve(child);
    setTimeout(() => reject(new Error(`${file} did not start:\n${output}`)), 60_000).unref();
  });
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (ms) and system calls used so far by every process, keyed by pid, with its command name. */
function cpuSnapshot() {
  const out = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), {
        comm,
        ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
        syscalls: syscalls(entry),
      });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/**
 * Adds the CPU ms used between two snapshots to `totals`, by part; anything else on the machine is
 * "other". System calls go to `calls` (on this VM each one, a loopback socket write above all, is dear).
 */
function addCpu(totals, before, after, calls = {}) {
  const named = new Map([[process.pid, 'bench client'], ...children.map(({ name, child }) => [child.pid, name])]);
  for (const [pid, { comm, ms }] of after) {
    const used = ms - (before.get(pid)?.ms ?? 0);
    if (used <= 0) continue;
    const name =
      named.get(pid) ??
      (comm.startsWith('postgres')
        ? 'postgres'
        : comm === 'redis-server'
          ? 'redis'
          : process.env.BENCH_DEBUG_OTHER
            ? `other:${comm}`
            : 'other');
    totals[name] = (totals[name] ?? 0) + used;
    if (name !== 'other') calls[name] = (calls[name] ?? 0) + syscallsUsed(before.get(pid), after.get(pid));
  }
}

function syscallsUsed(before, after) {
  return Math.max(0, (after?.syscalls ?? 0) - (before?.syscalls ?? 0));
}

/** Statements committed in Postgres and commands processed by Redis so far (the bench's own polling included). */
async function serverCounters(sql, redis) {
  const [{ xacts }] =
    await sql`select (xact_commit + xact_rollback)::bigint::text as xacts from pg_stat_database where datname = current_database()`;
  const info = await redis.info('stats');
  return { pgXacts: Number(xacts), redisCommands: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0) };
}

function addCounters(totals, before, after) {
  for (const key of Object.keys(after)) totals[key] = (totals[key] ?? 0) + after[key] - before[key];
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One phase: latencies over all samples; throughput = runs / summed wall time of its rounds. */
function summarize(label, rounds, cpu) {
  const samples = rounds.flat();
  const latencies = samples.map((s) => s.done - s.sent).sort((a, b) => a - b);
  const wallMs = rounds.reduce(
    (sum, r) => sum + (Math.max(...r.map((s) => s.done)) - Math.min(...r.map((s) => s.sent))),
    0,
  );
  const ownMs = Object.entries(cpu ?? {})
    .filter(([name]) => name !== 'other')
    .reduce((sum, [, ms]) => sum + ms, 0);
  return {
    label,
    runs: samples.length,
    runsPerSec: Math.round((samples.length / wallMs) * 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuPerRun: cpu
      ? Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, +(v / samples.length).toFixed(2)]))
      : {},
    runsPerOwnCpuSec: cpu ? Math.round((samples.length / ownMs) * 1000) : undefined,
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
  const sql = postgres(pg.url, { max: 4, onnotice: () => {} });
  const mcpPort = await freePort();
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const common = {
    DATABASE_URL: pg.url,
    REDIS_URL: redisServer.url,
    MCP_URL: mcpUrl,
    JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
  };
  const queueName = 'bare-bench';
  try {
    await startProcess('mcp server', 'src/node/mcp-server.ts', { MCP_SERVER_PORT: String(mcpPort) }, 'listening');
    await startProcess('api', 'src/node/server.ts', { ...common, BACKEND_PORT: String(apiPort), LOG_LEVEL: 'warn' });
    await waitForHttp(`${api}/health/live`, 60_000);
    await startProcess(
      'worker',
      'src/node/worker.ts',
      { ...common, LOG_LEVEL: 'info', WORKER_CONCURRENCY: String(CONCURRENCY) },
      'worker started',
    );
    await startProcess(
      'bare worker',
      'bench/bare-bullmq-worker.ts',
      { REDIS_URL: redisServer.url, MCP_URL: mcpUrl, QUEUE_NAME: queueName, CONCURRENCY: String(CONCURRENCY) },
      'bare worker started',
    );

    // Ours: register, create the workflow, execute over HTTP, read completion from the row.
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
      const ids = sent.map((s) => s.id);
      const rows = await sql`select id, status, finished_at from workflow_queue where id = any(${ids}::uuid[])`;
      const byId = new Map(rows.map((r) => [r.id, r]));
      return sent.map((s) => {
        const row = byId.get(s.id);
        if (row?.status !== 'completed') throw new Error(`run ${s.id} ended ${row?.status}`);
        return { sent: s.sent, done: row.finished_at.getTime() };
      });
    };

    // Bare: add() and the job's finishedOn.
    const connection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection });
    // BullMQ leaves connections it was given open: both are closed by hand below.
    const eventsConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const events = new QueueEvents(queueName, {
      connection: eventsConnection,
    });
    await events.waitUntilReady();
    const addOne = async (i) => {
      const sent = Date.now();
      const job = await queue.add('echo', { text: `hi ${i}` }, { removeOnComplete: 5000 });
      return { job, sent };
    };
    const bareSamples = async (added) => {
      const out = [];
      for (const { job, sent } of added) {
        await job.waitUntilFinished(events, 60_000);
        out.push({ sent, done: (await queue.getJob(job.id)).finishedOn });
      }
      return out;
    };

    // Warm-up: connections, JIT, MCP sessions.
    for (let i = 0; i < 30; i++) {
      const s = await executeOne();
      await waitAllDone([s.id]);
      await (await addOne(i)).job.waitUntilFinished(events, 60_000);
    }

    // Low load: one run at a time, alternating.
    const ourSeq = [];
    const bareSeq = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const s = await executeOne();
      await waitAllDone([s.id]);
      ourSeq.push(s);
      const b = await addOne(i);
      await b.job.waitUntilFinished(events, 60_000);
      bareSeq.push(b);
    }
    const ourLow = summarize('ours, one at a time', [await ourSamples(ourSeq)]);
    const bareLow = summarize('bare BullMQ, one at a time', [await bareSamples(bareSeq)]);

    // Under load: INFLIGHT requests in flight, alternating rounds.
    const per = Math.ceil(RUNS / ROUNDS);
    const ourRounds = [];
    const bareRounds = [];
    const ourCpu = {};
    const bareCpu = {};
    const ourCalls = {};
    const bareCalls = {};
    const ourCounters = {};
    const bareCounters = {};
    for (let round = 0; round < ROUNDS; round++) {
      let counters = await serverCounters(sql, connection);
      let before = cpuSnapshot();
      const sent = [];
      await pool(per, INFLIGHT, async () => {
        sent.push(await executeOne());
      });
      await waitAllDone(sent.map((s) => s.id));
      addCpu(ourCpu, before, cpuSnapshot(), ourCalls);
      addCounters(ourCounters, counters, await serverCounters(sql, connection));
      ourRounds.push(await ourSamples(sent));

      counters = await serverCounters(sql, connection);
      before = cpuSnapshot();
      const added = [];
      await pool(per, INFLIGHT, async (i) => {
        added.push(await addOne(i));
      });
      const samples = await bareSamples(added);
      addCpu(bareCpu, before, cpuSnapshot(), bareCalls);
      addCounters(bareCounters, counters, await serverCounters(sql, connection));
      bareRounds.push(samples);
    }
    const ourHigh = summarize(`ours, ${INFLIGHT} in flight`, ourRounds, ourCpu);
    const bareHigh = summarize(`bare BullMQ, ${INFLIGHT} in flight`, bareRounds, bareCpu);
    await events.close();
    await queue.close();
    connection.disconnect();
    eventsConnection.disconnect();

    console.log(
      `\nQueue benchmark: ${per * ROUNDS} runs under load (${ROUNDS} alternating rounds), ${SEQUENTIAL} one at a time, worker concurrency ${CONCURRENCY}\n`,
    );
    console.log('| scenario | runs | runs/s | p50 ms | p99 ms | runs per own CPU-second |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of [ourLow, bareLow, ourHigh, bareHigh]) {
      console.log(`| ${r.label} | ${r.runs} | ${r.runsPerSec} | ${r.p50} | ${r.p99} | ${r.runsPerOwnCpuSec ?? ''} |`);
    }
    console.log(
      `\nthroughput ratio (ours / bare BullMQ) under load: ${(ourHigh.runsPerSec / bareHigh.runsPerSec).toFixed(2)}` +
        ` (per own CPU-second: ${(ourHigh.runsPerOwnCpuSec / bareHigh.runsPerOwnCpuSec).toFixed(2)})`,
    );
    console.log(`p50 at low load: ours ${ourLow.p50} ms, bare ${bareLow.p50} ms`);
    console.log('\nCPU ms per run under load, by process ("other" = anything else running on the machine):');
    console.log(`  ours: ${JSON.stringify(ourHigh.cpuPerRun)}`);
    console.log(`  bare: ${JSON.stringify(bareHigh.cpuPerRun)}`);
    const perRun = (counts, runs) =>
      JSON.stringify(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, +(v / runs).toFixed(1)])));
    console.log('\nRead/write system calls per run under load, by process:');
    console.log(`  ours: ${perRun(ourCalls, ourHigh.runs)}`);
    console.log(`  bare: ${perRun(bareCalls, bareHigh.runs)}`);
    console.log("\nPostgres transactions and Redis commands per run under load (the bench's own polling included):");
    console.log(`  ours: ${perRun(ourCounters, ourHigh.runs)}`);
    console.log(`  bare: ${perRun(bareCounters, bareHigh.runs)}`);
  } finally {
    for (const { child } of children) child.kill(PROFILE ? 'SIGINT' : 'SIGKILL');
    if (PROFILE) await new Promise((r) => setTimeout(r, 3000));
    await sql.end({ timeout: 1 });
    await Promise.all([pg.stop(), redisServer.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    for (const { child } of children) child.kill('SIGKILL');
    process.exit(1);
  },
);
