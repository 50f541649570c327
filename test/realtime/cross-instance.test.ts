import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNodeChannelHub } from '../../src/node/node-channel-hub';
import { RedisChannelHub } from '../../src/node/redis-channel-hub';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { startRedis } from '../helpers/servers';
import { type RealtimeServer, sleep, startRealtimeServer, type TestClient } from './realtime-server';

type User = Awaited<ReturnType<RealtimeServer['registerUser']>>;

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('cross-instance delivery through a real Redis', () => {
  // A prefix of our own: the Redis server is shared with other test files.
  const prefix = `test:${crypto.randomUUID()}:`;
  const redisUrl = inject('redisUrl');
  let a: RealtimeServer;
  let b: RealtimeServer;
  let hubA: RedisChannelHub;
  let hubB: RedisChannelHub;
  let alice: User;
  let bob: User;
  let admin: User;
  let redis: Redis;

  beforeAll(async () => {
    hubA = new RedisChannelHub({ url: redisUrl, prefix });
    hubB = new RedisChannelHub({ url: redisUrl, prefix });
    a = await startRealtimeServer({ hub: hubA });
    // One database and one JWT secret, as replicas have: a token from one is valid on the other
    // (an admin's is confirmed against the shared user row).
    b = await startRealtimeServer({ hub: hubB, db: a.db });
    alice = await a.registerUser();
    bob = await a.registerUser();
    admin = await a.registerUser('admin');
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    // B borrows A's database: B goes first.
    await b?.close();
    await a?.close();
    await redis?.quit();
  });

  it('delivers a publish on either instance to every subscriber on both, exactly once and in order', async () => {
    const onA = [await a.connect(alice.accessToken), await a.connect(bob.accessToken)];
    const onB = [await b.connect(alice.accessToken), await b.connect(admin.accessToken)];
    const everyone = [...onA, ...onB];
    for (const client of everyone) await client.subscribe('room');
    const fromA = onA[0] as TestClient;
    const fromB = onB[0] as TestClient;

    for (let i = 0; i < 50; i++) {
      fromA.send({ event: 'publish', channel: 'room', payload: { from: 'a', i } });
      fromB.send({ event: 'chat', channel: 'room', payload: { from: 'b', i } });
    }
    for (const client of everyone) {
      const got: Array<Record<string, any>> = [];
      for (let n = 0; n < 100; n++) got.push((await client.next()).payload);
      const fromEach = (origin: string) => got.filter((p) => p.from === origin).map((p) => p.i);
      expect(fromEach('a')).toEqual([...Array(50).keys()]);
      expect(fromEach('b')).toEqual([...Array(50).keys()]);
    }
    await sleep(200);
    for (const client of everyone) expect(client.pending()).toEqual([]);
    // Each instance skipped its own echoes rather than delivering them twice.
    expect(hubA.stats.echoesSkipped).toBeGreaterThanOrEqual(50);
    expect(hubB.stats.echoesSkipped).toBeGreaterThanOrEqual(50);
  });

  it('acks subscribe only once the other instance can reach the subscriber', async () => {
    const publisher = await a.connect(alice.accessToken);
    const subscriber = await b.connect(bob.accessToken);
    for (let i = 0; i < 20; i++) {
      const channel = `fresh-${crypto.randomUUID()}`;
      await subscriber.subscribe(channel);
      publisher.send({ event: 'publish', channel, payload: { i } });
      expect(await subscriber.next()).toEqual({ event: 'publish', channel, payload: { i, senderId: alice.user.id } });
    }
  });

  it('subscribes upstream only to channels with local listeners, and leaves them when the last one goes', async () => {
    const channel = `scoped-${crypto.randomUUID()}`;
    const numsub = async () => {
      const reply = (await redis.call('PUBSUB', 'NUMSUB', prefix + channel)) as [string, number];
      return Number(reply[1]);
    };
    expect(await numsub()).toBe(0);
    const first = await b.connect(alice.accessToken);
    const second = await b.connect(bob.accessToken);
    await first.subscribe(channel);
    await second.subscribe(channel);
    // One subscriber connection per process, however many sockets listen on it.
    expect(await numsub()).toBe(1);
    expect(hubB.upstreamChannels()).toContain(channel);
    expect(hubA.upstreamChannels()).not.toContain(channel);

    await first.request({ event: 'unsubscribe', channel });
    expect(await numsub()).toBe(1);
    second.close();
    await second.closed;
    await waitUntil('upstream unsubscribe', async () => (await numsub()) === 0);
    expect(hubB.upstreamChannels()).not.toContain(channel);
  });

  it('routes workflow-status from a publishing-only process (the worker) to the run owner and admins only', async () => {
    // The worker's hub: it publishes and never subscribes, so it never opens a subscriber connection.
    const worker = createNodeChannelHub({ url: redisUrl, prefix });
    try {
      const aliceOnB = await b.connect(alice.accessToken);
      const bobOnA = await a.connect(bob.accessToken);
      const adminOnA = await a.connect(admin.accessToken);
      for (const client of [aliceOnB, bobOnA, adminOnA]) await client.subscribe('workflow');

      const progress = (stepIndex: number, status: string) => ({
        event: 'workflow-status',
        channel: 'workflow',
        payload: { runId: 'run-1', workflowId: 'wf-1', ownerId: alice.user.id, status, stepIndex, totalSteps: 2 },
      });
      await worker.publish(progress(0, 'running'));
      await worker.publish(progress(1, 'running'));
      await worker.publish(progress(2, 'completed'));

      for (const client of [aliceOnB, adminOnA]) {
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await client.next()).payload);
        expect(statuses.map((p) => [p.stepIndex, p.status])).toEqual([
          [0, 'running'],
          [1, 'running'],
          [2, 'completed'],
        ]);
        expect(statuses.every((p) => p.ownerId === alice.user.id && p.runId === 'run-1')).toBe(true);
      }
      await sleep(200);
      expect(bobOnA.pending()).toEqual([]);
      expect((worker as RedisChannelHub).upstreamChannels()).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it('gives an in-memory hub when Redis is not configured', async () => {
    const hub = createNodeChannelHub(undefined);
    expect(hub).toBeInstanceOf(InMemoryChannelHub);
    await hub.close();
  });
});

describe('cross-instance delivery when Redis goes away and comes back', () => {
  it('keeps local delivery during the outage and resumes cross-instance delivery after it', async () => {
    const redisServer = await startRedis();
    const prefix = 'outage:';
    const hubA = new RedisChannelHub({ url: redisServer.url, prefix, subscribeTimeoutMs: 300 });
    const hubB = new RedisChannelHub({ url: redisServer.url, prefix, subscribeTimeoutMs: 300 });
    const [a, b] = await Promise.all([startRealtimeServer({ hub: hubA }), startRealtimeServer({ hub: hubB })]);
    let restarted: Awaited<ReturnType<typeof startRedis>> | undefined;
    try {
      const user = await a.registerUser();
      const local = await a.connect(user.accessToken);
      const publisher = await a.connect(user.accessToken);
      const remote = await b.connect(user.accessToken);
      for (const client of [local, remote]) await client.subscribe('ops');

      await redisServer.stop();
      publisher.send({ event: 'publish', channel: 'ops', payload: { phase: 'outage' } });
      expect((await local.next()).payload).toMatchObject({ phase: 'outage' });
      // Subscribing still works (acked after the bounded wait) and the socket stays healthy.
      await local.subscribe('ops-2');
      expect(local.isOpen && remote.isOpen).toBe(true);

      restarted = await startRedis({ port: redisServer.port });
      // Both hubs reconnect and re-subscribe on their own; keep publishing until one crosses.
      let n = 0;
      await waitUntil(
        'cross-instance delivery after the restart',
        () => {
          publisher.send({ event: 'publish', channel: 'ops', payload: { phase: 'after', n: n++ } });
          return remote.pending().some((m) => m.payload.phase === 'after');
        },
        15_000,
      );
      await sleep(300);
      // From then on, each message arrives once.
      const marker = crypto.randomUUID();
      publisher.send({ event: 'publish', channel: 'ops', payload: { marker } });
      await sleep(300);
      expect(remote.pending().filter((m) => m.payload.marker === marker)).toHaveLength(1);
      expect(local.pending().filter((m) => m.payload.marker === marker)).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await restarted?.stop();
    }
  }, 30_000);
});
