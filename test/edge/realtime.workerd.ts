import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/auth/access-tokens';
import { systemClock } from '../../src/clock';
import { shardIndexOf } from '../../src/edge/shard-of';
import { signEvent } from '../../src/realtime/event-signature';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { TEST_JWT_SECRET } from '../helpers/test-app';
import type { EdgeWorker, edgeClient } from './edge-worker';
import { EVENTS_SECRET, type RealtimeEdge, startRealtimeEdge } from './realtime-edge';
import { refusedUpgrade, type WsClient } from './ws-client';

/**
 * Longer than the 2 s tokens of the expiry tests, so their sockets' first heartbeat finds the
 * token expired whatever the machine's load, and long enough that a busy client answers a ping
 * in time.
 */
const PING_MS = 3000;
/** Few shards, so that users sharing one are quickly found. */
const SHARDS = 4;

let realtime: RealtimeEdge;
let edge: EdgeWorker;
let client: ReturnType<typeof edgeClient>;

beforeAll(async () => {
  realtime = await startRealtimeEdge({
    WS_PING_INTERVAL_MS: String(PING_MS),
    WS_MAX_CONNECTIONS_PER_USER: '2',
    WS_USER_BYTES_PER_SECOND: '200000',
    EDGE_WS_SHARDS: String(SHARDS),
  });
  ({ edge, client } = realtime);
});

afterEach(() => realtime?.closeSockets());

afterAll(async () => {
  await realtime?.close();
});

/** An access token for `user` that expires `ttlSeconds` after it was issued (now, unless `clock` says otherwise). */
function tokenLasting(
  ttlSeconds: number,
  user: { user: { id: string }; username: string },
  clock: () => Date = systemClock,
): Promise<string> {
  const tokens = new AccessTokens({
    secret: TEST_JWT_SECRET,
    issuer: 'workflow-platform',
    audience: 'workflow-platform-api',
    ttlSeconds,
    clock,
  });
  return tokens.sign({ userId: user.user.id, username: user.username, role: 'user' });
}

const connect: RealtimeEdge['connect'] = (...args) => realtime.connect(...args);
const promotedAdmin = () => realtime.promotedAdmin();
const postEvents: RealtimeEdge['postEvents'] = (...args) => realtime.postEvents(...args);

describe('/ws on the edge (connection shards and channel objects)', () => {
  it('refuses an upgrade without a valid token with a JSON 401, before any socket exists', async () => {
    const missing = await refusedUpgrade(edge.url);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body).error.code).toBe('unauthorized');
    const forged = await refusedUpgrade(edge.url, { authorization: 'Bearer forged.token.here' });
    expect(forged.status).toBe(401);
    const user = await client.register();
    const plain = await client.call('GET', '/ws', undefined, user.auth);
    expect(plain.status).toBe(426);
  });

  it('delivers publishes to every subscriber of the channel, across connections', async () => {
    const [alice, bob] = [await client.register(), await client.register()];
    const a = await connect(alice);
    const b = await connect(bob);
    await a.subscribe('room:edge');
    await b.subscribe('room:edge');
    a.send({ event: 'chat', channel: 'room:edge', payload: { text: 'hello from the edge' } });
    const received = await b.next((f) => f.event === 'chat');
    expect(received).toEqual({
      event: 'chat',
      channel: 'room:edge',
      payload: { text: 'hello from the edge', senderId: alice.user.id },
    });
    await a.next((f) => f.event === 'chat');
    b.send({ event: 'unsubscribe', channel: 'room:edge' });
    await b.next((f) => f.event === 'unsubscribed');
    a.send({ event: 'chat', channel: 'room:edge', payload: { text: 'second' } });
    await a.next((f) => f.event === 'chat' && f.payload.text === 'second');
    expect(b.frames.filter((f) => f.event === 'chat')).toHaveLength(1);
  });

  it('applies the same ACL and protocol errors as Node, keeping the connection open', async () => {
    const [alice, bob] = [await client.register(), await client.register()];
    const b = await connect(bob);
    b.send({ event: 'subscribe', channel: `notifications:${alice.user.id}` });
    expect((await b.next((f) => f.event === 'error')).payload.code).toBe('forbidden');
    b.send({ event: 'workflow-status', channel: 'workflow', payload: { ownerId: alice.user.id } });
    expect((await b.next((f) => f.event === 'error' && f.channel === 'workflow')).payload.code).toBe('forbidden');
    b.send('not json');
    expect((await b.next((f) => f.payload.code === 'invalid_json')).event).toBe('error');
    b.send({ event: 'subscribe', channel: 'bad channel!' });
    await b.next((f) => f.payload.code === 'invalid_channel');
    b.send({ event: 'x', channel: 'room', payload: { big: 'x'.repeat(70 * 1024) } });
    await b.next((f) => f.payload.code === 'message_too_large');
    await b.subscribe(`notifications:${bob.user.id}`);
    b.send({ event: 'ping', channel: '' });
    await b.next((f) => f.event === 'pong');
    expect(b.closed).toBeUndefined();
  });

  it("charges a publish's fan-out to its user's budget in the user's shard, as Node does in its process", async () => {
    // The publisher's shard holds the publisher's sockets and those of another user hashed there.
    const publisher = await client.register();
    let neighbour = await client.register();
    while (shardIndexOf(neighbour.user.id, SHARDS) !== shardIndexOf(publisher.user.id, SHARDS)) {
      neighbour = await client.register();
    }
    const listeners = [
      await connect(publisher),
      await connect(publisher),
      await connect(neighbour),
      await connect(neighbour),
    ];
    for (const listener of listeners) await listener.subscribe('wide');
    const [p] = listeners as [WsClient];
    // 60 KB to 4 sockets is more than WS_USER_BYTES_PER_SECOND (200000) allows in a second.
    p.send({ event: 'chat', channel: 'wide', payload: { blob: 'x'.repeat(60_000) } });
    expect((await p.next((f) => f.event === 'error')).payload).toMatchObject({
      code: 'message_too_large',
      recipients: 4,
      limit: 50_000,
    });
    p.send({ event: 'chat', channel: 'wide', payload: { blob: 'y'.repeat(10_000) } });
    for (const listener of listeners) {
      expect((await listener.next((f) => f.event === 'chat')).payload.blob).toHaveLength(10_000);
    }
    // Nothing of the refused publish reached anyone.
    for (const listener of listeners) {
      expect(listener.frames.filter((f) => f.event === 'chat' && f.payload.blob !== 'y'.repeat(10_000))).toEqual([]);
    }
  });

  it('limits a connection to 100 channels', async () => {
    const user = await client.register();
    const socket = await connect(user);
    for (let i = 0; i < 100; i++) socket.send({ event: 'subscribe', channel: `c.${i}` });
    // Each first subscribe to a channel waits for its channel object: a hundred round trips.
    await socket.next((f) => f.event === 'subscribed' && f.channel === 'c.99', 25_000);
    socket.send({ event: 'subscribe', channel: 'c.100' });
    expect((await socket.next((f) => f.event === 'error')).payload).toMatchObject({
      code: 'too_many_channels',
      limit: 100,
    });
  });

  it('rate-limits a flooding connection with one error per burst, keeping it open', async () => {
    const user = await client.register();
    const socket = await connect(user);
    for (let i = 0; i < 300; i++) socket.send({ event: 'ping', channel: '' });
    const limited = await socket.next((f) => f.event === 'error');
    expect(limited.payload).toMatchObject({ code: 'rate_limited' });
    expect(socket.frames.filter((f) => f.payload.code === 'rate_limited')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    const from = socket.frames.length;
    socket.send({ event: 'ping', channel: '' });
    await socket.next((f) => f.event === 'pong', 5000, from);
  });

  it('forwards signed workflow events to the owner of the run only (admins see all)', async () => {
    const [owner, other, admin] = [await client.register(), await client.register(), await promotedAdmin()];
    const o = await connect(owner);
    const x = await connect(other);
    const boss = await connect(admin);
    await o.subscribe('workflow');
    await x.subscribe('workflow');
    await boss.subscribe('workflow');
    const mine = {
      event: 'workflow-status',
      channel: 'workflow',
      payload: { runId: 'r1', ownerId: owner.user.id, status: 'running' },
    };
    const theirs = {
      event: 'workflow-status',
      channel: 'workflow',
      payload: { runId: 'r2', ownerId: other.user.id, status: 'completed' },
    };
    const res = await postEvents([mine, theirs]);
    expect(res.status).toBe(202);
    expect((await o.next((f) => f.event === 'workflow-status')).payload.runId).toBe('r1');
    expect((await x.next((f) => f.event === 'workflow-status')).payload.runId).toBe('r2');
    await new Promise((r) => setTimeout(r, 100));
    expect(o.frames.filter((f) => f.event === 'workflow-status')).toHaveLength(1);
    expect(x.frames.filter((f) => f.event === 'workflow-status')).toHaveLength(1);
    await boss.next((f) => f.payload.runId === 'r2');
    expect(boss.frames.filter((f) => f.event === 'workflow-status').map((f) => f.payload.runId)).toEqual(['r1', 'r2']);
  });

  it('refuses unsigned, forged, stale and replayed event batches', async () => {
    const user = await client.register();
    const socket = await connect(user);
    await socket.subscribe('workflow');
    const event = { event: 'workflow-status', channel: 'workflow', payload: { runId: 'r3', ownerId: user.user.id } };
    const unsigned = await fetch(`${edge.url}/internal/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [event] }),
    });
    expect(unsigned.status).toBe(401);
    expect((await postEvents([event], { secret: 'another-secret-that-is-32-bytes-long!!' })).status).toBe(401);
    expect((await postEvents([event], { nowMs: Date.now() - 6 * 60_000 })).status).toBe(401);
    // The same signed request twice (a replay inside the window) is delivered once.
    const body = JSON.stringify({ messages: [event] });
    const headers = { 'content-type': 'application/json', ...(await signEvent(EVENTS_SECRET, body)) };
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${edge.url}/internal/events`, { method: 'POST', headers, body });
      expect(res.status).toBe(202);
    }
    await socket.next((f) => f.event === 'workflow-status');
    await new Promise((r) => setTimeout(r, 150));
    expect(socket.frames.filter((f) => f.event === 'workflow-status')).toHaveLength(1);
    const invalid = await postEvents([{ event: 'workflow-status', channel: 'bad channel', payload: {} }]);
    expect(invalid.status).toBe(400);
  });

  it('publishes a cancellation made on the edge to the run owner through the realtime objects', async () => {
    const owner = await client.register();
    const socket = await connect(owner);
    await socket.subscribe('workflow');
    const created = await client.call(
      'POST',
      '/api/workflows',
      { name: 'to cancel', steps: [{ id: 's', tool: 'echo', arguments: { text: 'x' } }] },
      owner.auth,
    );
    const { workflow } = await readJson(created, bodies.workflow);
    const executed = await client.call('POST', `/api/workflows/${workflow.id}/execute`, {}, owner.auth);
    const { run } = await readJson(executed, bodies.run);
    const cancelled = await client.call('POST', `/api/workflows/runs/${run.id}/cancel`, undefined, owner.auth);
    expect(cancelled.status).toBe(200);
    const event = await socket.next((f) => f.event === 'workflow-status');
    expect(event.payload).toMatchObject({ runId: run.id, status: 'cancelled', ownerId: owner.user.id });
  });

  it('pings with {"event":"ping"} from an alarm and drops a client that stops answering', async () => {
    const user = await client.register();
    const lively = await connect(user);
    const silent = await connect(user, { answerPings: false });
    await silent.next((f) => f.event === 'ping', 2 * PING_MS + 10_000);
    const closed = await silent.serverClose(2 * PING_MS + 10_000);
    expect(closed.code).toBe(4408);
    expect(lively.closed).toBeUndefined();
    expect(lively.frames.filter((f) => f.event === 'ping').length).toBeGreaterThanOrEqual(1);
  });

  it('refuses a user past WS_MAX_CONNECTIONS_PER_USER with 429 before the upgrade, as Node does', async () => {
    const user = await client.register();
    const other = await client.register();
    await connect(user);
    await connect(user);
    const refused = await refusedUpgrade(edge.url, user.auth);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toMatchObject({
      code: 'rate_limited',
      message: 'At most 2 /ws connections per user; close one first',
    });
    const third = await connect(other);
    await third.subscribe('room');
  });

  it('closes a socket with 4401 once the token it was opened with expires, as Node does', async () => {
    const user = await client.register();
    const socket = await connect({ accessToken: await tokenLasting(2, user) });
    await socket.subscribe('room');
    const closed = await socket.serverClose(2 * PING_MS + 10_000);
    expect(closed.code).toBe(4401);
  });

  it('closes with 4401, not 4408, when the token expired while a ping went unanswered', async () => {
    const user = await client.register();
    // A ping to another socket of the user (same shard) shows when the shard's heartbeat ran: the
    // next one comes PING_MS later.
    const neighbour = await connect(user);
    await neighbour.next((f) => f.event === 'ping', 2 * PING_MS + 10_000);
    // A token issued at the next whole second that expires PING_MS later: still valid at that next
    // heartbeat (which pings the silent socket), expired by the one after (which finds no answer).
    const issuedAt = Math.floor(Date.now() / 1000) + 1;
    while (Date.now() < issuedAt * 1000) await new Promise((r) => setTimeout(r, issuedAt * 1000 - Date.now()));
    const token = await tokenLasting(PING_MS / 1000, user, () => new Date(issuedAt * 1000));
    const silent = await connect({ accessToken: token }, { answerPings: false });
    const closed = await silent.serverClose(2 * PING_MS + 10_000);
    expect(closed.code).toBe(4401);
  });

  it('resource channels: only who may read the project may subscribe or publish, as on Node; publishes are attributed', async () => {
    const [alice, bob] = [await client.register(), await client.register()];
    const admin = await promotedAdmin();
    const created = await client.call('POST', '/projects', { name: 'edge project' }, alice.auth);
    const { project } = await readJson(created, bodies.project);
    const channel = `project:${project.id}`;
    const owner = await connect(alice);
    const root = await connect(admin);
    const stranger = await connect(bob);
    await owner.subscribe(channel);
    await root.subscribe(channel);
    stranger.send({ event: 'subscribe', channel });
    expect((await stranger.next((f) => f.event === 'error' && f.channel === channel)).payload.code).toBe('forbidden');
    stranger.send({ event: 'publish', channel, payload: { spam: true } });
    await stranger.next((f) => f.event === 'error' && f.channel === channel, 5000, 1);
    stranger.send({ event: 'subscribe', channel: 'room:attributed' });
    await stranger.next((f) => f.event === 'subscribed' && f.channel === 'room:attributed');

    owner.send({ event: 'progress', channel, payload: { step: 1, senderId: bob.user.id } });
    const delivered = { event: 'progress', channel, payload: { step: 1, senderId: alice.user.id } };
    expect(await owner.next((f) => f.event === 'progress')).toEqual(delivered);
    expect(await root.next((f) => f.event === 'progress')).toEqual(delivered);
    expect(stranger.frames.some((f) => f.event === 'publish' || f.event === 'progress')).toBe(false);
  });
});
