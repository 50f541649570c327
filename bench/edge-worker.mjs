// The Worker's own cost in workerd (Miniflare), against a hello-world Worker in the same run:
// - cold start: workerd's CPU from launch until its first answer (parse, compile and evaluate
//   the bundle's modules, build the app on the first request), minus the hello-world's;
// - CPU per request: workerd's CPU over a burst of `GET /health/live` (no I/O), per request.
//
//   npm run -s bench:edge                          # the bundle of this checkout
//   npm run -s bench:edge -- /path/to/checkout     # and another checkout's, in alternating rounds
//
// Knobs: EDGE_BENCH_ROUNDS (5 cold starts per bundle), EDGE_BENCH_REQUESTS (2000, 8 in flight).
// CPU comes from /proc (10 ms ticks), so each figure is a median over rounds; wall time is not
// reported: on a shared machine it swings with whatever else runs.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';
import { cpuMs } from './process-cpu.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.EDGE_BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.EDGE_BENCH_REQUESTS ?? 2000);
const IN_FLIGHT = 8;

const HELLO = 'export default { fetch() { return new Response("ok"); } };';

async function buildBundle(checkout) {
  const outdir = mkdtempSync(join(tmpdir(), 'wfp-edge-bench-'));
  await promisify(execFile)('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: checkout,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    timeout: 180_000,
  });
  return readFileSync(join(outdir, 'worker.js'), 'utf8');
}

function compatibility(checkout) {
  const toml = readFileSync(join(checkout, 'wrangler.toml'), 'utf8');
  return {
    compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)[1],
    compatibilityFlags: [.../^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)[1].matchAll(/"([^"]+)"/g)].map(
      (m) => m[1],
    ),
    // Every Durable Object class the checkout's wrangler.toml binds, so the module links as deployed.
    durableObjects: Object.fromEntries(
      [...toml.matchAll(/name\s*=\s*"([A-Z_]+)"\s*\nclass_name\s*=\s*"([A-Za-z]+)"/g)].map((m) => [m[1], m[2]]),
    ),
  };
}

/** workerd processes started by this one (Miniflare spawns one per instance). */
function workerdChildren() {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8').trim();
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
      if (comm === 'workerd' && Number(rest.split(' ')[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function measure(candidate) {
  const before = new Set(workerdChildren());
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.js', contents: candidate.script }],
    compatibilityDate: candidate.compatibilityDate,
    compatibilityFlags: candidate.compatibilityFlags,
    durableObjects: candidate.durableObjects,
    bindings: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
      // /health/live opens no connection; the URL only has to parse.
      DATABASE_URL: 'postgres://bench@127.0.0.1:1/none',
    },
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const url = (await mf.ready).toString().replace(/\/$/, '');
    const pid = workerdChildren().find((p) => !before.has(p));
    const first = await fetch(`${url}/health/live`);
    await first.arrayBuffer();
    const coldMs = cpuMs(pid);
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        sent++;
        const res = await fetch(`${url}/health/live`);
        if (res.status !== 200) throw new Error(`${candidate.name}: /health/live answered ${res.status}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    return { coldMs, perRequestUs: ((cpuMs(pid) - coldMs) * 1000) / REQUESTS };
  } finally {
    await mf.dispose();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const checkouts = [ROOT, ...process.argv.slice(2).map((dir) => resolve(dir))];
const candidates = [{ name: 'hello-world', script: HELLO, ...compatibility(ROOT), durableObjects: {} }];
for (const checkout of checkouts) {
  const script = await buildBundle(checkout);
  candidates.push({ name: checkout === ROOT ? 'this checkout' : checkout, script, ...compatibility(checkout) });
}

const results = new Map(candidates.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const candidate of candidates) results.get(candidate.name).push(await measure(candidate));
}

const hello = results.get('hello-world');
const helloCold = median(hello.map((r) => r.coldMs));
const helloPerRequest = median(hello.map((r) => r.perRequestUs));
console.log(`workerd via Miniflare, ${ROUNDS} rounds, ${REQUESTS} x GET /health/live per round (${IN_FLIGHT} in flight)`);
console.log('| Worker | bundle (gzip KiB) | cold start CPU (ms) | over hello-world (ms) | CPU per request (µs) | ÷ hello-world |');
console.log('|---|---|---|---|---|---|');
for (const candidate of candidates) {
  const rows = results.get(candidate.name);
  const cold = median(rows.map((r) => r.coldMs));
  const perRequest = median(rows.map((r) => r.perRequestUs));
  const gzipKiB = (gzipSync(candidate.script).length / 1024).toFixed(0);
  console.log(
    `| ${candidate.name} | ${gzipKiB} | ${cold} | ${cold - helloCold} | ${perRequest.toFixed(0)} | ${(perRequest / helloPerRequest).toFixed(2)}× |`,
  );
}
