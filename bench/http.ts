/**
 * HTTP benchmark (npm run bench:http). Starts everything it needs on 127.0.0.1 — a real
 * Postgres (test/helpers/servers.ts), the API (src/node/server.ts) and a bare Fastify
 * hello-world as the baseline — then measures one target at a time with autocannon and
 * prints a markdown table for bench/RESULTS.md. Everything it starts is stopped at the end.
 *
 * Options (flag or environment): --duration=10 (BENCH_DURATION, seconds measured per target),
 * --warmup=2 (BENCH_WARMUP), --connections=50 (BENCH_CONNECTIONS), --logins=20 (BENCH_LOGINS,
 * concurrent login loops for the event-loop test), --health-connections=10 (BENCH_HEALTH_CONNECTIONS).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, type RunningServer, startPostgres } from '../test/helpers/servers';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function option(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const env = process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
  const value = Number(flag ?? env ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const DURATION = option('duration', 10);
const WARMUP = option('warmup', 2);
const CONNECTIONS = option('connections', 50);
const LOGINS = option('logins', 20);
const HEALTH_CONNECTIONS = option('health-connections', 10);

const TARGETS = { live: 0.8, profile: 0.25 };

interface Measurement {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failures: number;
}

const children: ChildProcess[] = [];
let postgres: RunningServer | undefined;
let dataDir: string | undefined;

/** Runs a server file under the tsx loader, the way `npm start` does (tsx src/node/server.ts). */
async function startServer(file: string, env: Record<string, string>): Promise<{ url: string; stderr: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
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
    const ok = await fetch(url + (env.DATABASE_URL ? '/health/live' : '/'))
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { url, stderr: () => stderr };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${file} did not answer within 60 s:\n${stderr}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function cleanup() {
  await Promise.all(children.map(stopChild));
  await postgres?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

async function load(name: string, options: autocannon.Options): Promise<Measurement> {
  await autocannon({ ...options, duration: WARMUP });
  const result = await autocannon({ ...options, duration: DURATION });
  const failures = result.non2xx + result.errors + result.timeouts;
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failures,
  };
}

/** `concurrency` loops of POST /auth/login until `stop` resolves; returns how many succeeded. */
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

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

async function main() {
  console.error(
    `bench: ${cpus().length} cores, ${DURATION} s per target after ${WARMUP} s warm-up, ${CONNECTIONS} connections`,
  );
  postgres = await startPostgres();
  dataDir = mkdtempSync(join(tmpdir(), 'wfp-bench-'));

  // Sequential, never concurrent: each server gets the machine to itself while measured.
  const fastify = await startServer('bench/fastify-hello.ts', {});
  const baseline = await load('Fastify `GET /` (baseline)', { url: `${fastify.url}/`, connections: CONNECTIONS });
  await stopChild(children[0]!);

  const api = await startServer('src/node/server.ts', {
    DATABASE_URL: postgres.url,
    JWT_SECRET: randomBytes(32).toString('hex'),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
  });
  const credentials = { username: 'bench_user', email: 'bench@example.com', password: 'bench-password-1' };
  const registered = await fetch(`${api.url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  const { accessToken } = (await registered.json()) as { accessToken: string };

  const live = await load('API `GET /health/live`', { url: `${api.url}/health/live`, connections: CONNECTIONS });
  const profile = await load('API `GET /profile` (JWT + indexed query)', {
    url: `${api.url}/profile`,
    connections: CONNECTIONS,
    headers: { authorization: `Bearer ${accessToken}` },
  });

  const healthAlone = await load('API `GET /health` alone', {
    url: `${api.url}/health`,
    connections: HEALTH_CONNECTIONS,
  });
  let stopLogins!: () => void;
  const logins = loginLoops(
    api.url,
    JSON.stringify({ username: credentials.username, password: credentials.password }),
    LOGINS,
    new Promise<void>((resolve) => {
      stopLogins = resolve;
    }),
  );
  const healthUnderLogins = await load(`API \`GET /health\` during ${LOGINS} login loops`, {
    url: `${api.url}/health`,
    connections: HEALTH_CONNECTIONS,
  });
  stopLogins();
  const loginCounts = await logins;

  const rows = [baseline, live, profile];
  const lines = [
    `| target | req/s | p50 | p99 | × baseline | target | failures |`,
    `|---|---:|---:|---:|---:|---:|---:|`,
    ...rows.map((m) => {
      const ratio = m.rps / baseline.rps;
      const goal = m === live ? TARGETS.live : m === profile ? TARGETS.profile : undefined;
      const verdict = goal === undefined ? '' : `≥ ${goal}× ${ratio >= goal ? 'met' : '**missed**'}`;
      return `| ${m.name} | ${Math.round(m.rps)} | ${ms(m.p50)} | ${ms(m.p99)} | ${ratio.toFixed(2)} | ${verdict} | ${m.failures} |`;
    }),
    '',
    `| /health (${HEALTH_CONNECTIONS} connections) | req/s | p50 | p99 | failures |`,
    `|---|---:|---:|---:|---:|`,
    ...[healthAlone, healthUnderLogins].map(
      (m) => `| ${m.name} | ${Math.round(m.rps)} | ${ms(m.p50)} | ${ms(m.p99)} | ${m.failures} |`,
    ),
    '',
    `Logins during the second /health run: ${loginCounts.ok} succeeded (${(loginCounts.ok / (DURATION + WARMUP)).toFixed(1)}/s), ${loginCounts.failed} failed.`,
  ];
  console.log(lines.join('\n'));
  const failures = [...rows, healthAlone, healthUnderLogins].reduce((n, m) => n + m.failures, 0);
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
