import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { createTestDatabase, TEST_JWT_SECRET } from '../helpers/test-app';
import { type EdgeWorker, edgeClient, startEdgeWorker } from './edge-worker';
import { WsClient } from './ws-client';

let edge: EdgeWorker;
let database: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  database = await createTestDatabase();
  // No heartbeat during the test: nothing may wake the object but the next message.
  edge = await startEdgeWorker({
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: database.url,
    WS_PING_INTERVAL_MS: '600000',
    // The object logs its wake-up at info level.
    LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  await edge?.close();
  await database?.close();
});

it('keeps sockets and subscriptions across hibernation of a connection shard', { timeout: 90_000 }, async () => {
  const client = edgeClient(edge.url);
  const [alice, bob] = [await client.register(), await client.register()];
  const a = await WsClient.connect(edge.url, alice.accessToken);
  const b = await WsClient.connect(edge.url, bob.accessToken);
  try {
    await a.subscribe('room:sleepy');
    await b.subscribe('room:sleepy');
    await b.subscribe(`notifications:${bob.user.id}`);
    // A resource channel: allowed after a database check, a decision the session keeps.
    const created = await client.call('POST', '/projects', { name: 'sleepy project' }, alice.auth);
    const { project } = await readJson(created, bodies.project);
    const projectChannel = `project:${project.id}`;
    await a.subscribe(projectChannel);
    // Gone from the database: a check asked again now would refuse, a kept decision does not ask.
    await database.db.execute(sql`delete from projects where id = ${project.id}`);
    // workerd evicts an object that has been idle for ~10 s and only holds hibernatable sockets.
    let woke = false;
    for (let attempt = 0; attempt < 3 && !woke; attempt++) {
      await new Promise((r) => setTimeout(r, 15_000));
      const from = a.frames.length;
      a.send({ event: 'ping', channel: '' });
      await a.next((f) => f.event === 'pong', 5000, from);
      woke = edge.logs.some((line) => line.includes('connection shard woke up'));
    }
    expect(woke, 'the object was evicted and rebuilt its sessions').toBe(true);
    a.send({ event: 'chat', channel: 'room:sleepy', payload: { text: 'after a nap' } });
    expect((await b.next((f) => f.event === 'chat')).payload.text).toBe('after a nap');
    // The restored session kept its user: the ACL still applies, and no duplicate acks were sent.
    b.send({ event: 'subscribe', channel: `notifications:${alice.user.id}` });
    expect((await b.next((f) => f.event === 'error')).payload.code).toBe('forbidden');
    expect(b.frames.filter((f) => f.event === 'subscribed')).toHaveLength(2);
    // The resource-channel grant came back with the socket: its subscription still delivers and
    // its publishes pass, without a new check.
    a.send({ event: 'build', channel: projectChannel, payload: { step: 1 } });
    expect(await a.next((f) => f.event === 'build')).toEqual({
      event: 'build',
      channel: projectChannel,
      payload: { step: 1, senderId: alice.user.id },
    });
    b.send({ event: 'build', channel: projectChannel, payload: {} });
    expect((await b.next((f) => f.event === 'error' && f.channel === projectChannel)).payload.code).toBe('forbidden');
  } finally {
    a.close();
    b.close();
  }
});
