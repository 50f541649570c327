// Edge /ws fan-out in workerd (Miniflare): this checkout's sharded realtime (connection shards +
// channel objects, EDGE_WS_SHARDS) against the single-object design (one ChannelHub Durable
// Object for every socket and channel, built from git ref EDGE_WS_BASELINE_REF), measured in the
// same run with the same clients, the two taking turns.
//
//   npm run -s bench:edge-ws
//
// Scenarios, each bounded by a message count and a deadline:
// - broadcast: every socket subscribes to one channel; one socket publishes;
// - rooms: 100 channels of SOCKETS/100 subscribers; one publisher per channel.
// Publishers keep a window of messages in flight (a message is done when every subscriber has
// it), so neither design is asked to queue without bound. Reported: deliveries per second, the
// p50/p99 of publish → receive (every 10th socket samples it), and workerd's CPU time per 1,000
// deliveries (from /proc: on a shared machine the wall-clock rate swings, CPU per delivery less).
// Knobs: EDGE_WS_BENCH_SOCKETS (1000), EDGE_WS_BENCH_SHARDS (8), EDGE_WS_BENCH_MESSAGES (100 per
// publisher in broadcast, 20 per room), EDGE_WS_BENCH_ROUNDS (2), EDGE_WS_BASELINE_REF.
import { SignJWT } from 'jose';
import postgres from 'postgres';
import { tsImport } from 'tsx/esm/api';
import WebSocket from 'ws';
import { buildBundle, checkoutOf, miniflareSettings, ROOT, startWorkerd } from './edge-bundles.mjs';
import { cpuMs } from './process-cpu.mjs';

const { startPostgres } = await tsImport('../test/helpers/servers.ts', import.meta.url);
const { openDatabase, runMigrations } = await tsImport('../src/node/database.ts', import.meta.url);

const SOCKETS = Number(process.env.EDGE_WS_BENCH_SOCKETS ?? 1000);
const SHARDS = Number(process.env.EDGE_WS_BENCH_SHARDS ?? 8);
const BROADCAST_MESSAGES = Number(process.env.EDGE_WS_BENCH_MESSAGES ?? 100);
const ROOM_MESSAGES = Math.max(1, Math.round(BROADCAST_MESSAGES / 5));
const ROUNDS = Number(process.env.EDGE_WS_BENCH_ROUNDS ?? 2);
// The last commit whose edge held every socket in one ChannelHub object.
const BASELINE_REF = process.env.EDGE_WS_BASELINE_REF ?? '5568a25';
const ROOMS = 100;
const WINDOW = 8;
const SCENARIO_DEADLINE_MS = 60_000;
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function tokenFor(userId) {
  return new SignJWT({ role: 'user', username: `bench_${userId.slice(0, 8)}` })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer('workflow-platform')
    .setAudience('workflow-platform-api')
    .setIssuedAt()
    .setExpirationTime('2h')
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(SECRET));
}

/** One client socket: answers pings, counts chats per message id, samples latency. */
function openSocket(url, token, sample, tally) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${token}`);
    const acks = new Map();
    ws.on('message', (data) => {
      const text = String(data);
      const frame = JSON.parse(text);
      if (frame.event === 'chat') tally(frame.payload, sample);
      else if (frame.event === 'ping') ws.send('{"event":"pong","channel":""}');
      else if (frame.event === 'subscribed' || frame.event === 'unsubscribed') acks.get(frame.channel)?.();
    });
    ws.once('open', () =>
      resolve({
        ws,
        /** Sends a subscribe/unsubscribe and waits for its ack. */
        change(event, channel) {
          return new Promise((done) => {
            acks.set(channel, done);
            ws.send(JSON.stringify({ event, channel }));
          });
        },
      }),
    );
    ws.once('error', reject);
  });
}

async function inBatches(items, size, run) {
  const results = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return results;
}

/**
 * Publishers each send `count` messages to their channel, at most WINDOW of theirs in flight;
 * a message is done once `expected` subscribers have it. Bounded by SCENARIO_DEADLINE_MS.
 */
async function runScenario(state, publishers, expected, count, pid) {
  state.received.clear();
  state.latencies.length = 0;
  state.waiters.clear();
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const deadline = Date.now() + SCENARIO_DEADLINE_MS;
  await Promise.all(
    publishers.map(async ({ socket, channel }, p) => {
      const inFlight = new Set();
      for (let n = 0; n < count && Date.now() < deadline; n++) {
        const id = `${p}:${n}`;
        const done = new Promise((resolve) => state.waiters.set(id, resolve));
        inFlight.add(done);
        void done.then(() => inFlight.delete(done));
        socket.ws.send(JSON.stringify({ event: 'chat', channel, payload: { id, t: Date.now() } }));
        if (inFlight.size >= WINDOW) await Promise.race([...inFlight, sleep(Math.max(0, deadline - Date.now()))]);
      }
      await Promise.race([Promise.all(inFlight), sleep(Math.max(0, deadline - Date.now()))]);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(pid) - cpuBefore;
  let deliveries = 0;
  for (const n of state.received.values()) deliveries += n;
  const sorted = [...state.latencies].sort((a, b) => a - b);
  const wanted = publishers.length * count * expected;
  return {
    deliveries,
    complete: deliveries >= wanted,
    perSecond: deliveries / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuPerThousand: (cpu * 1000) / Math.max(1, deliveries),
  };
}

async function measure(candidate, databaseUrl, userIds, tokens) {
  const { url, pid, dispose } = await startWorkerd(candidate, {
    LOG_LEVEL: 'error',
    JWT_SECRET: SECRET,
    DATABASE_URL: databaseUrl,
    EDGE_WS_SHARDS: String(SHARDS),
    // Publishers send far more than the per-connection default of 50 messages/s.
    WS_MESSAGES_PER_SECOND: '1000000',
  });
  try {
    const state = { received: new Map(), latencies: [], waiters: new Map(), expected: 0 };
    const tally = (payload, sample) => {
      const n = (state.received.get(payload.id) ?? 0) + 1;
      state.received.set(payload.id, n);
      if (sample) state.latencies.push(Date.now() - payload.t);
      if (n === state.expected) state.waiters.get(payload.id)?.();
    };
    const sockets = await inBatches(userIds, 50, (_, i) => openSocket(url, tokens[i], i % 10 === 0, tally));

    await inBatches(sockets, 100, (socket) => socket.change('subscribe', 'room:all'));
    state.expected = SOCKETS;
    const broadcast = await runScenario(
      state,
      [{ socket: sockets[0], channel: 'room:all' }],
      SOCKETS,
      BROADCAST_MESSAGES,
      pid,
    );

    await inBatches(sockets, 100, (socket) => socket.change('unsubscribe', 'room:all'));
    await inBatches(sockets, 100, (socket, i) => socket.change('subscribe', `room:${i % ROOMS}`));
    const perRoom = Math.floor(SOCKETS / ROOMS);
    state.expected = perRoom;
    const publishers = sockets.slice(0, ROOMS).map((socket, i) => ({ socket, channel: `room:${i}` }));
    const rooms = await runScenario(state, publishers, perRoom, ROOM_MESSAGES, pid);

    for (const socket of sockets) socket.ws.terminate();
    return { broadcast, rooms };
  } finally {
    await dispose();
  }
}

const pg = await startPostgres();
try {
  const database = await openDatabase({ databaseUrl: pg.url, maxConnections: 1 });
  await runMigrations({ databaseUrl: pg.url, database });
  await database.close();
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const userIds = Array.from({ length: SOCKETS }, () => crypto.randomUUID());
  for (let i = 0; i < userIds.length; i += 500) {
    const rows = userIds.slice(i, i + 500).map((id) => ({
      id,
      username: `bench_${id.slice(0, 8)}_${id.slice(9, 13)}`,
      email: `${id}@bench.example`,
      password_hash: 'unused',
    }));
    await sql`insert into users ${sql(rows)}`;
  }
  await sql.end();
  const tokens = await Promise.all(userIds.map(tokenFor));

  const baselineCheckout = checkoutOf(BASELINE_REF);
  const candidates = [
    { name: `sharded (${SHARDS} shards)`, script: await buildBundle(ROOT), ...miniflareSettings(ROOT) },
    {
      name: `single object (${BASELINE_REF})`,
      script: await buildBundle(baselineCheckout),
      ...miniflareSettings(baselineCheckout),
    },
  ];
  const results = new Map(candidates.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const candidate of candidates)
      results.get(candidate.name).push(await measure(candidate, pg.url, userIds, tokens));
  }

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const summary = (runs, scenario) => {
    const rows = runs.map((r) => r[scenario]);
    return {
      perSecond: median(rows.map((r) => r.perSecond)),
      p50: median(rows.map((r) => r.p50)),
      p99: median(rows.map((r) => r.p99)),
      cpu: median(rows.map((r) => r.cpuPerThousand)),
      complete: rows.every((r) => r.complete),
    };
  };
  console.log(
    `workerd via Miniflare; ${SOCKETS} sockets; broadcast: 1 channel x ${SOCKETS}, ${BROADCAST_MESSAGES} messages; ` +
      `rooms: ${ROOMS} channels x ${Math.floor(SOCKETS / ROOMS)}, ${ROOM_MESSAGES} messages each; window ${WINDOW}; ` +
      `median of ${ROUNDS} rounds`,
  );
  console.log(
    '| design | scenario | deliveries/s | p50 ms | p99 ms | workerd CPU ms per 1,000 deliveries | all delivered |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const [sharded, single] = candidates.map((c) => results.get(c.name));
  for (const scenario of ['broadcast', 'rooms']) {
    for (const [candidate, runs] of [
      [candidates[0], sharded],
      [candidates[1], single],
    ]) {
      const s = summary(runs, scenario);
      console.log(
        `| ${candidate.name} | ${scenario} | ${Math.round(s.perSecond)} | ${s.p50} | ${s.p99} | ${s.cpu.toFixed(1)} | ${s.complete ? 'yes' : 'no'} |`,
      );
    }
    const a = summary(sharded, scenario);
    const b = summary(single, scenario);
    console.log(
      `| sharded ÷ single | ${scenario} | ${(a.perSecond / b.perSecond).toFixed(2)}× | | ${(a.p99 / b.p99).toFixed(2)}× | ${(a.cpu / b.cpu).toFixed(2)}× | |`,
    );
  }
} finally {
  await pg.stop();
}
