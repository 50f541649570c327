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
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildBundle, miniflareSettings, ROOT, startWorkerd } from './edge-bundles.mjs';
import { cpuMs } from './process-cpu.mjs';

const ROUNDS = Number(process.env.EDGE_BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.EDGE_BENCH_REQUESTS ?? 2000);
const IN_FLIGHT = 8;

const HELLO = 'export default { fetch() { return new Response("ok"); } };';

async function measure(candidate) {
  const { url, pid, dispose } = await startWorkerd(candidate, {
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
    // /health/live opens no connection; the URL only has to parse.
    DATABASE_URL: 'postgres://bench@127.0.0.1:1/none',
  });
  try {
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
    await dispose();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const checkouts = [ROOT, ...process.argv.slice(2).map((dir) => resolve(dir))];
const candidates = [{ name: 'hello-world', script: HELLO, ...miniflareSettings(ROOT), durableObjects: {} }];
for (const checkout of checkouts) {
  const script = await buildBundle(checkout);
  candidates.push({ name: checkout === ROOT ? 'this checkout' : checkout, script, ...miniflareSettings(checkout) });
}

const results = new Map(candidates.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const candidate of candidates) results.get(candidate.name).push(await measure(candidate));
}

const hello = results.get('hello-world');
const helloCold = median(hello.map((r) => r.coldMs));
const helloPerRequest = median(hello.map((r) => r.perRequestUs));
console.log(
  `workerd via Miniflare, ${ROUNDS} rounds, ${REQUESTS} x GET /health/live per round (${IN_FLIGHT} in flight)`,
);
console.log(
  '| Worker | bundle (gzip KiB) | cold start CPU (ms) | over hello-world (ms) | CPU per request (µs) | ÷ hello-world |',
);
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
