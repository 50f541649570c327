import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { shardIndexOf } from '../../src/edge/shard-of';
import { readJson } from '../helpers/read-json';
import type { EdgeUser, EdgeWorker, edgeClient } from './edge-worker';
import { type RealtimeEdge, startRealtimeEdge } from './realtime-edge';
import type { Frame, WsClient } from './ws-client';

const SHARDS = 8;
// No heartbeat during these tests (realtime.workerd.ts covers it): a busy client is never dropped.
const PING_MS = 600_000;

let realtime: RealtimeEdge;
let edge: EdgeWorker;
let client: ReturnType<typeof edgeClient>;

beforeAll(async () => {
  realtime = await startRealtimeEdge(
    { EDGE_WS_SHARDS: String(SHARDS), WS_PING_INTERVAL_MS: String(PING_MS), LOG_LEVEL: 'info' },
    { instrumented: true },
  );
  ({ edge, client } = realtime);
  // Registering costs a bcrypt hash in workerd; how many it takes to reach the shards the tests
  // need is chance, so it happens once, here, not inside each test's time.
  while (!(byShard.size >= 4 && [...byShard.values()].some((users) => users.length >= 2))) {
    const user = await client.register();
    byShard.set(shardOf(user), [...(byShard.get(shardOf(user)) ?? []), user]);
  }
});

afterEach(() => realtime?.closeSockets());

afterAll(async () => {
  await realtime?.close();
});

const shardOf = (user: EdgeUser) => shardIndexOf(user.user.id, SHARDS);

/** Users registered before the tests, by the shard that holds their sockets. */
const byShard = new Map<number, EdgeUser[]>();

/**
 * `count` users on pairwise different shards, the second of them on a shard that holds another
 * registered user (see `neighbourOf`).
 */
function usersOnDistinctShards(count: number): EdgeUser[] {
  const shards = [...byShard.values()].sort((a, b) => b.length - a.length);
  const [crowded, ...others] = shards.map((users) => users[0] as EdgeUser);
  return [others[0], crowded, ...others.slice(1)].slice(0, count) as EdgeUser[];
}

/** Another user on the shard of `user`. */
function neighbourOf(user: EdgeUser): EdgeUser {
  const neighbour = byShard.get(shardOf(user))?.find((other) => other !== user);
  if (!neighbour) throw new Error('no second user on that shard');
  return neighbour;
}

/** Deliveries each shard received since the last call (the instrumented entry counts them). */
async function shardDeliveries(): Promise<number[]> {
  return readJson(await fetch(`${edge.url}/__test/shard-calls?shards=${SHARDS}`), z.array(z.number()));
}

const chats = (socket: WsClient, from?: string) =>
  socket.frames.filter((f) => f.event === 'chat' && (from === undefined || f.payload.from === from));

async function allChats(socket: WsClient, count: number, from?: string): Promise<Frame[]> {
  await socket.next(() => chats(socket, from).length >= count, 10_000);
  return chats(socket, from);
}

describe('/ws on the edge, sharded across Durable Objects', () => {
  it('delivers every publish exactly once and in order to subscribers on every shard', async () => {
    const users = usersOnDistinctShards(4);
    // Two sockets on one shard as well: the shard fans out locally.
    const neighbour = neighbourOf(users[1] as EdgeUser);
    const subscribers = await Promise.all([...users, neighbour].map((user) => realtime.connect(user)));
    for (const socket of subscribers) await socket.subscribe('room:shards');
    const [first, second] = subscribers as [WsClient, WsClient];
    for (let i = 0; i < 20; i++) {
      first.send({ event: 'chat', channel: 'room:shards', payload: { from: 'first', n: i } });
      second.send({ event: 'chat', channel: 'room:shards', payload: { from: 'second', n: i } });
    }
    for (const socket of subscribers) {
      for (const from of ['first', 'second']) {
        const received = await allChats(socket, 20, from);
        expect(received.map((f) => f.payload.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      }
    }
    // Nothing arrives twice, however long one waits: a ping goes round after the last chat.
    for (const socket of subscribers) {
      const from = socket.frames.length;
      socket.send({ event: 'ping', channel: '' });
      await socket.next((f) => f.event === 'pong', 5000, from);
      expect(chats(socket)).toHaveLength(40);
    }
    expect(new Set(subscribers.map((_, i) => shardOf([...users, neighbour][i] as EdgeUser))).size).toBe(4);
  });

  it('loses no subscription when a channel object restarts', async () => {
    const users = usersOnDistinctShards(3);
    const subscribers = await Promise.all(users.map((user) => realtime.connect(user)));
    for (const socket of subscribers) await socket.subscribe('room:restart');
    const [publisher] = subscribers as [WsClient];
    publisher.send({ event: 'chat', channel: 'room:restart', payload: { n: 1 } });
    for (const socket of subscribers) await allChats(socket, 1);

    const loadsBefore = edge.logs.filter((line) => line.includes('channel object loaded its shards')).length;
    expect((await fetch(`${edge.url}/__test/restart-channel?channel=room:restart`, { method: 'POST' })).status).toBe(
      200,
    );
    publisher.send({ event: 'chat', channel: 'room:restart', payload: { n: 2 } });
    for (const socket of subscribers) {
      expect((await allChats(socket, 2)).map((f) => f.payload.n)).toEqual([1, 2]);
    }
    // The new instance read the shards back from storage (it was not the old one still running).
    expect(edge.logs.filter((line) => line.includes('channel object loaded its shards')).length).toBe(loadsBefore + 1);

    // A subscriber that leaves after the restart stops receiving; the others go on.
    const [, leaving, staying] = subscribers as [WsClient, WsClient, WsClient];
    leaving.send({ event: 'unsubscribe', channel: 'room:restart' });
    await leaving.next((f) => f.event === 'unsubscribed');
    publisher.send({ event: 'chat', channel: 'room:restart', payload: { n: 3 } });
    await allChats(staying, 3);
    await allChats(publisher, 3);
    expect(chats(leaving)).toHaveLength(2);
  });

  it("takes a run's status to its owner's shard and the admins' shards only", async () => {
    // The last test: its fourth user, on a fourth shard, becomes an admin.
    const [owner, other, bystander, promoted] = usersOnDistinctShards(4);
    if (!owner || !other || !bystander || !promoted) throw new Error('unreachable');
    const admin = await realtime.promotedAdmin(promoted);
    const [o, x, , boss] = await Promise.all([owner, other, bystander, admin].map((user) => realtime.connect(user)));
    for (const socket of [o, x, boss]) await (socket as WsClient).subscribe('workflow');
    await shardDeliveries();

    const status = { event: 'workflow-status', channel: 'workflow', payload: { runId: 'r1', ownerId: owner.user.id } };
    expect((await realtime.postEvents([status])).status).toBe(202);
    expect((await (o as WsClient).next((f) => f.event === 'workflow-status')).payload.runId).toBe('r1');
    expect((await (boss as WsClient).next((f) => f.event === 'workflow-status')).payload.runId).toBe('r1');

    const deliveries = await shardDeliveries();
    const visited = deliveries.flatMap((count, shard) => (count > 0 ? [shard] : []));
    expect(visited.sort()).toEqual([shardOf(owner), shardOf(admin)].sort());
    // The other user (subscribed to `workflow` too) got nothing, and nobody got it twice.
    const from = (x as WsClient).frames.length;
    (x as WsClient).send({ event: 'ping', channel: '' });
    await (x as WsClient).next((f) => f.event === 'pong', 5000, from);
    expect((x as WsClient).frames.filter((f) => f.event === 'workflow-status')).toHaveLength(0);
    expect((o as WsClient).frames.filter((f) => f.event === 'workflow-status')).toHaveLength(1);
    expect((boss as WsClient).frames.filter((f) => f.event === 'workflow-status')).toHaveLength(1);
  });
});
