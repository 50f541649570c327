/**
 * HTTP benchmark (npm run bench:http). Starts everything it needs on 127.0.0.1 — a real
 * Postgres (test/helpers/servers.ts), the API (src/node/server.ts, as `npm start` runs it),
 * a bare Fastify hello-world as the baseline and two references (bench/hono-hello.ts: Hono with
 * one route; bench/fastify-profile.ts: the /profile work by hand on Fastify + postgres.js) — then
 * measures one target at a time with autocannon and prints markdown tables for bench/RESULTS.md.
 * It stops everything it started.
 *
 * Options (flag or environment variable):
 *   --duration=10            BENCH_DURATION            seconds measured per target
 *   --warmup=2               BENCH_WARMUP              seconds of unmeasured load before each
 *   --connections=50         BENCH_CONNECTIONS         autocannon connections
 *   --rounds=1               BENCH_ROUNDS              repeat baseline/live/profile; report medians
 *   --logins=20              BENCH_LOGINS              concurrent login loops in the event-loop test
 *   --health-connections=10  BENCH_HEALTH_CONNECTIONS  connections on /health in that test
 *   --before=<checkout>      BENCH_BEFORE              also run that checkout's API (its own
 *                                                      node_modules) on the same Postgres: a
 *                                                      before/after comparison in the same run
 *
 * Besides req/s and latency it reports CPU time per request of the server process (and of
 * Postgres), read from /proc: on a shared 2-core machine that is steadier than req/s.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, type RunningServer, startPostgres, stopProcess } from '../test/helpers/servers';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function option(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const env = process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
  const value = Number(flag ?? env ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

function pathOption(name: string): string | undefined {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = flag ?? process.env[`BENCH_${name.toUpperCase()}`];
  if (value && !existsSync(join(value, 'src/node/server.ts')))
    throw new Error(`--${name}: no src/node/server.ts in ${value}`);
  return value || undefined;
}

const DURATION = option('duration', 10);
const WARMUP = option('warmup', 2);
const CONNECTIONS = option('connections', 50);
const ROUNDS = Math.round(option('rounds', 1));
const LOGINS = option('logins', 20);
const HEALTH_CONNECTIONS = option('health-connections', 10);
const BEFORE = pathOption('before');

const TARGETS: Record<string, number> = { live: 0.8, profile: 0.25 };

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  /** CPU microseconds per request of the measured server process; of Postgres' processes. */
  serverCpuUs?: number;
  postgresCpuUs?: number;
}

const children: ChildProcess[] = [];
let postgres: RunningServer | undefined;
let dataDir: string | undefined;

/** utime + stime of one process, in ms; undefined where /proc is not available. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms of a process and all its descendants (Postgres forks a backend per connection). */
function treeCpuMs(rootPid: number | undefined): number | undefined {
  if (!rootPid || !existsSync('/proc')) return undefined;
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  const walk = (pid: number) => {
    total += processCpuMs(pid) ?? 0;
    for (const child of childrenOf.get(pid) ?? []) walk(child);
  };
  walk(rootPid);
  return total;
}

/** Runs a server file under the tsx loader, as `npm start` does (tsx src/node/server.ts). */
async function startServer(
  file: string,
  readyPath: string,
  env: Record<string, string>,
  cwd = ROOT,
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BACKEND_PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode}:\n${stderr}`);
    const ok = await fetch(url + readyPath)
      .then((r) => r.status < 500)
      .catch(() => false);
    if (ok) return { url, child, stderr: () => stderr };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${file} did not answer within 60 s:\n${stderr}`);
}

async function cleanup() {
  await Promise.all(children.map((child) => stopProcess(child)));
  await postgres?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

async function load(options: autocannon.Options, server: ChildProcess): Promise<Measurement> {
  await autocannon({ ...options, duration: WARMUP });
  const serverBefore = processCpuMs(server.pid);
  const postgresBefore = treeCpuMs(postgres?.process.pid);
  const result = await autocannon({ ...options, duration: DURATION });
  const perRequest = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined || result.requests.total === 0
      ? undefined
      : ((after - before) * 1000) / result.requests.total;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    serverCpuUs: perRequest(serverBefore, processCpuMs(server.pid)),
    postgresCpuUs: perRequest(postgresBefore, treeCpuMs(postgres?.process.pid)),
  };
}

/**
 * Each number's median over the rounds, taken separately: one round slowed by a neighbour's burst
 * moves its req/s and its CPU per request apart, so the CPU ratios use the CPU medians.
 */
function median(rounds: Measurement[]): Measurement {
  const middle = (values: Array<number | undefined>) => {
    const known = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    return known.length === 0 ? undefined : known[Math.floor((known.length - 1) / 2)];
  };
  return {
    rps: middle(rounds.map((m) => m.rps)) ?? 0,
    p50: middle(rounds.map((m) => m.p50)) ?? 0,
    p99: middle(rounds.map((m) => m.p99)) ?? 0,
    serverCpuUs: middle(rounds.map((m) => m.serverCpuUs)),
    postgresCpuUs: middle(rounds.map((m) => m.postgresCpuUs)),
    failures: rounds.reduce((n, m) => n + m.failures, 0),
  };
}

/** `concurrency` loops of POST /auth/login until `stop` resolves. */
async function loginLoops(apiUrl: string, body: string, concurrency: number, stop: Promise<void>) {
  let done = false;
  void stop.then(() => {
    done = true;
  });
  let ok = 0;
  let failed = 0;
  const loop = async () => {
    while (!done) {
      const res = await fetch(`${apiUrl}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      if (res.ok) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ok, failed };
}

function gitHead(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not a git checkout';
  }
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const us = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} µs`);

async function main() {
  const started = new Date();
  console.error(
    `bench: ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}; ${ROUNDS} round(s) of ${DURATION} s per target after ${WARMUP} s warm-up, ${CONNECTIONS} connections`,
  );
  postgres = await startPostgres();
  dataDir = mkdtempSync(join(tmpdir(), 'wfp-bench-'));

  // Both servers run for the whole bench, but only one is under load at any time.
  const fastify = await startServer('bench/fastify-hello.ts', '/', {});
  const honoHello = await startServer('bench/hono-hello.ts', '/', {});
  const jwtSecret = randomBytes(32).toString('hex');
  const apiEnv = {
    DATABASE_URL: postgres.url,
    JWT_SECRET: jwtSecret,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    // The login loops share one address; the brute-force guard would refuse all but a few of them
    // in flight, and what is measured is /health while bcrypt runs, not the guard.
    LOGIN_GUARD_MAX_FAILURES: '1000',
  };
  const api = await startServer('src/node/server.ts', '/health/live', apiEnv);
  const credentials = { username: 'bench_user', email: 'bench@example.com', password: 'bench-password-1' };
  const registered = await fetch(`${api.url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  const { accessToken } = (await registered.json()) as { accessToken: string };

  // Started after the API: it reads the users table the API's migrations created.
  const fastifyProfile = await startServer('bench/fastify-profile.ts', '/profile', {
    DATABASE_URL: postgres.url,
    JWT_SECRET: jwtSecret,
    JWT_ISSUER: 'workflow-platform',
    JWT_AUDIENCE: 'workflow-platform-api',
  });
  const bearer = { authorization: `Bearer ${accessToken}` };
  // Another checkout's API on the same database and secret, so the same token works there.
  const before = BEFORE
    ? await startServer('src/node/server.ts', '/health/live', { ...apiEnv, DATA_DIR: join(dataDir, 'before') }, BEFORE)
    : undefined;

  // Two references without targets: the framework floor (Hono with one route) and the /profile
  // work written by hand on Fastify + postgres.js, so the table shows where the gaps come from.
  const targets = [
    { key: 'baseline', name: 'Fastify `GET /` (baseline)', server: fastify, path: '/', headers: {} },
    {
      key: 'hono',
      name: 'reference: bare Hono `GET /` on @hono/node-server',
      server: honoHello,
      path: '/',
      headers: {},
    },
    { key: 'live', name: 'API `GET /health/live`', server: api, path: '/health/live', headers: {} },
    {
      key: 'fastify-profile',
      name: 'reference: Fastify + jose + postgres.js `GET /profile`',
      server: fastifyProfile,
      path: '/profile',
      headers: bearer,
    },
    {
      key: 'profile',
      name: 'API `GET /profile` (JWT + indexed query)',
      server: api,
      path: '/profile',
      headers: bearer,
    },
    ...(before
      ? [
          {
            key: 'live-before',
            name: 'before: API `GET /health/live`',
            server: before,
            path: '/health/live',
            headers: {},
          },
          {
            key: 'profile-before',
            name: 'before: API `GET /profile`',
            server: before,
            path: '/profile',
            headers: bearer,
          },
        ]
      : []),
  ];
  const rounds = new Map<string, Measurement[]>(targets.map((t) => [t.key, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of targets) {
      const m = await load(
        { url: target.server.url + target.path, connections: CONNECTIONS, headers: target.headers },
        target.server.child,
      );
      rounds.get(target.key)?.push(m);
      console.error(`  round ${round} ${target.key}: ${Math.round(m.rps)} req/s, server ${us(m.serverCpuUs)}/req`);
    }
  }
  const results = new Map(targets.map((t) => [t.key, median(rounds.get(t.key) ?? [])]));
  const baseline = results.get('baseline') as Measurement;

  const healthAlone = await load({ url: `${api.url}/health`, connections: HEALTH_CONNECTIONS }, api.child);
  let stopLogins!: () => void;
  const logins = loginLoops(
    api.url,
    JSON.stringify({ username: credentials.username, password: credentials.password }),
    LOGINS,
    new Promise<void>((resolve) => {
      stopLogins = resolve;
    }),
  );
  const healthUnderLogins = await load({ url: `${api.url}/health`, connections: HEALTH_CONNECTIONS }, api.child);
  stopLogins();
  const loginCounts = await logins;

  const lines = [
    `| target | req/s | p50 | p99 | × baseline | target | server CPU/req | × baseline by CPU | Postgres CPU/req | failures |`,
    `|---|---:|---:|---:|---:|---|---:|---:|---:|---:|`,
    ...targets.map((t) => {
      const m = results.get(t.key) as Measurement;
      const ratio = m.rps / baseline.rps;
      const goal = TARGETS[t.key];
      const verdict = goal === undefined ? '' : `≥ ${goal}× ${ratio >= goal ? 'met' : '**missed**'}`;
      const pg = t.key.endsWith('profile') ? us(m.postgresCpuUs) : '';
      // What the ratio would be if both servers were CPU-bound: steadier than req/s on a busy machine.
      const cpuRatio = m.serverCpuUs && baseline.serverCpuUs ? (baseline.serverCpuUs / m.serverCpuUs).toFixed(2) : '–';
      return `| ${t.name} | ${Math.round(m.rps)} | ${ms(m.p50)} | ${ms(m.p99)} | ${ratio.toFixed(2)} | ${verdict} | ${us(m.serverCpuUs)} | ${cpuRatio} | ${pg} | ${m.failures} |`;
    }),
    '',
    ...[
      ['`/health/live` ÷ bare Hono', 'live', 'hono'],
      ['`/profile` ÷ the Fastify + postgres.js reference', 'profile', 'fastify-profile'],
      ...(before
        ? [
            ['`/health/live` now ÷ before', 'live', 'live-before'],
            ['`/profile` now ÷ before', 'profile', 'profile-before'],
          ]
        : []),
    ].map(([label, ours, reference]) => {
      const a = results.get(ours as string) as Measurement;
      const b = results.get(reference as string) as Measurement;
      return `${label}: ${(a.rps / b.rps).toFixed(2)}× by req/s, ${a.serverCpuUs && b.serverCpuUs ? (b.serverCpuUs / a.serverCpuUs).toFixed(2) : '–'}× by server CPU.`;
    }),
    '',
    `| API \`GET /health\` (db + MCP checks), ${HEALTH_CONNECTIONS} connections | req/s | p50 | p99 | failures |`,
    `|---|---:|---:|---:|---:|`,
    ...[
      ['alone', healthAlone],
      [`during ${LOGINS} concurrent login loops`, healthUnderLogins],
    ].map(([label, m]) => {
      const x = m as Measurement;
      return `| ${label} | ${Math.round(x.rps)} | ${ms(x.p50)} | ${ms(x.p99)} | ${x.failures} |`;
    }),
    '',
    `Logins meanwhile: ${loginCounts.ok} succeeded (${(loginCounts.ok / (DURATION + WARMUP)).toFixed(1)}/s), ${loginCounts.failed} failed.`,
    ...(BEFORE ? [`Before: the API of ${BEFORE} (${gitHead(BEFORE)}); now: ${gitHead(ROOT)}.`] : []),
    `Run ${started.toISOString()}: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, load average at the end ${loadavg()[0]?.toFixed(1)}; ${ROUNDS} round(s), ${DURATION} s + ${WARMUP} s warm-up per target, ${CONNECTIONS} connections; API with NODE_ENV=production LOG_LEVEL=warn.`,
  ];
  console.log(lines.join('\n'));
  const failures = [...results.values(), healthAlone, healthUnderLogins].reduce((n, m) => n + m.failures, 0);
  if (failures > 0 || loginCounts.failed > 0) {
    console.error(`bench: some requests failed; API stderr tail:\n${api.stderr()}`);
    process.exitCode = 1;
  }
}

process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

try {
  await main();
} finally {
  await cleanup();
}
