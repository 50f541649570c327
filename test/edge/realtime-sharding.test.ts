import { describe, expect, it } from 'vitest';
import type { ChannelOp } from '../../src/edge/channel-ops';
import { OrderedOutbox, OutboxFullError } from '../../src/edge/ordered-outbox';
import { ShardChannelHub } from '../../src/edge/shard-channel-hub';
import { silentLogger } from '../../src/logging/logger';
import type { ChannelMessage } from '../../src/realtime/channel-hub';
import { routeServerMessages } from '../../src/edge/server-publish-routes';
import { shardIndexOf } from '../../src/edge/shard-of';

/** A send whose batches the test completes (or fails) one by one. */
function controlledSend() {
  const batches: number[][] = [];
  const pending: Array<{ resolve(): void; reject(error: Error): void }> = [];
  const send = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(items);
      pending.push({ resolve, reject });
    });
  const settle = async (fail?: Error) => {
    const next = pending.shift();
    if (fail) next?.reject(fail);
    else next?.resolve();
    // Let the outbox take its next batch.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { batches, send, settle };
}

describe('OrderedOutbox', () => {
  it('keeps one batch in flight and sends what queued meanwhile as the next batch, in order', async () => {
    const { batches, send, settle } = controlledSend();
    const outbox = new OrderedOutbox<number>({ send, maxBatch: 100, maxQueued: 1000, onLoss: () => {} });
    outbox.push(1);
    for (let i = 2; i <= 6; i++) outbox.push(i);
    expect(batches).toEqual([[1]]);
    await settle();
    expect(batches).toEqual([[1], [2, 3, 4, 5, 6]]);
    outbox.push(7);
    await settle();
    await settle();
    expect(batches).toEqual([[1], [2, 3, 4, 5, 6], [7]]);
    expect(outbox.idle).toBe(true);
  });

  it('splits long queues into batches of maxBatch', async () => {
    const { batches, send, settle } = controlledSend();
    const outbox = new OrderedOutbox<number>({ send, maxBatch: 2, maxQueued: 1000, onLoss: () => {} });
    for (let i = 1; i <= 5; i++) outbox.push(i);
    for (let i = 0; i < 3; i++) await settle();
    expect(batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it('reports a failed batch and refuses items past maxQueued, and goes on with the rest', async () => {
    const { batches, send, settle } = controlledSend();
    const losses: Array<[number, string]> = [];
    const outbox = new OrderedOutbox<number>({
      send,
      maxBatch: 10,
      maxQueued: 2,
      onLoss: (count, error) => losses.push([count, (error as Error).name]),
    });
    const first = outbox.pushAndWait(1);
    outbox.push(2);
    const third = outbox.pushAndWait(3);
    const refused = outbox.pushAndWait(4);
    expect(await refused).toBe(false);
    expect(losses).toEqual([[1, OutboxFullError.name]]);
    await settle(new Error('destination gone'));
    expect(await first).toBe(false);
    expect(losses[1]).toEqual([1, 'Error']);
    await settle();
    expect(await third).toBe(true);
    expect(batches).toEqual([[1], [2, 3]]);
  });
});

describe('shardIndexOf', () => {
  it('puts a user on one shard, always the same, and spreads users evenly', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const shard = shardIndexOf(id, 8);
      expect(shardIndexOf(id, 8)).toBe(shard);
      counts[shard]++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
    for (const count of counts) expect(count).toBeLessThan(1200);
  });
});

describe('routeServerMessages', () => {
  it("sends a run's status to its owner's shard and to the workflow channel object (admins), the rest to channel objects", () => {
    const owner = '8c6f1c55-8b23-4a8e-9d4c-111111111111';
    const status = (runId: string) => ({
      event: 'workflow-status',
      channel: 'workflow',
      payload: { runId, ownerId: owner },
    });
    const note = { event: 'note', channel: 'project:1', payload: {} };
    const noOwner = { event: 'workflow-status', channel: 'workflow', payload: { runId: 'r0' } };
    const routes = routeServerMessages([status('r1'), note, status('r2'), noOwner], 16);
    expect(routes.ownerShards).toEqual(new Map([[shardIndexOf(owner, 16), [status('r1'), status('r2')]]]));
    expect(routes.channels.get('workflow')).toEqual([status('r1'), status('r2'), noOwner]);
    expect(routes.channels.get('project:1')).toEqual([note]);
  });
});

describe('ShardChannelHub', () => {
  /** A shard hub whose channel objects record what they are told (and take it at once). */
  function shardHub() {
    const told: Array<{ channel: string; ops: ChannelOp[] }> = [];
    const hub = new ShardChannelHub({
      shardId: 'shard-a',
      channelObject: (channel) => ({
        apply: async (ops) => {
          told.push({ channel, ops });
        },
      }),
      logger: silentLogger,
      forwardQueue: 1000,
      subscribeTimeoutMs: 60_000,
    });
    const opsFor = (channel: string) => told.filter((t) => t.channel === channel).flatMap((t) => t.ops);
    return { hub, opsFor };
  }
  const flush = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  const user = { id: 'u1', role: 'user' as const };
  const admin = { id: 'a1', role: 'admin' as const };
  const chat = (text: string): ChannelMessage => ({ event: 'chat', channel: 'room', payload: { text } });

  it('registers a channel with its object once, on the first local listener, and unregisters after the last', async () => {
    const { hub, opsFor } = shardHub();
    const seen: string[] = [];
    const first = hub.forUser(user).subscribe('room', (m) => seen.push(`1:${m.payload.text}`));
    const second = hub.forUser(admin).subscribe('room', (m) => seen.push(`2:${m.payload.text}`));
    await hub.forUser(user).ready?.('room');
    expect(opsFor('room')).toEqual([{ op: 'subscribe', shard: 'shard-a' }]);
    hub.deliver([chat('a')]);
    expect(seen).toEqual(['1:a', '2:a']);
    first();
    second();
    await flush();
    expect(opsFor('room')).toEqual([
      { op: 'subscribe', shard: 'shard-a' },
      { op: 'unsubscribe', shard: 'shard-a' },
    ]);
  });

  it("publishes to its own listeners at once and to the channel object, marked as this shard's", async () => {
    const { hub, opsFor } = shardHub();
    const seen: unknown[] = [];
    hub.forUser(user).subscribe('room', (m) => seen.push(m.payload.text));
    await hub.forUser(user).publish(chat('hi'));
    expect(seen).toEqual(['hi']);
    await flush();
    expect(opsFor('room').at(-1)).toEqual({ op: 'publish', message: chat('hi'), from: 'shard-a' });
  });

  it('tells a channel object that forwards to it without a listener left to drop it, once', async () => {
    const { hub, opsFor } = shardHub();
    hub.deliver([chat('a'), chat('b')]);
    await flush();
    expect(opsFor('room')).toEqual([{ op: 'unsubscribe', shard: 'shard-a' }]);
  });

  it("keeps a non-admin's workflow subscription local: only the server's owner deliveries reach it", async () => {
    const { hub, opsFor } = shardHub();
    const userSeen: unknown[] = [];
    const adminSeen: unknown[] = [];
    hub.forUser(user).subscribe('workflow', (m) => userSeen.push(m.payload.runId));
    hub.forUser(admin).subscribe('workflow', (m) => adminSeen.push(m.payload.runId));
    await flush();
    // Only the admin's subscription is registered at the workflow object.
    expect(opsFor('workflow')).toEqual([{ op: 'subscribe', shard: 'shard-a' }]);
    const status = { event: 'workflow-status', channel: 'workflow', payload: { runId: 'r1', ownerId: 'u1' } };
    hub.deliverToOwners([status]);
    hub.deliver([status]);
    expect(userSeen).toEqual(['r1']);
    expect(adminSeen).toEqual(['r1']);
  });

  it('does not register again while sessions are rebuilt after an eviction', async () => {
    const { hub, opsFor } = shardHub();
    const seen: unknown[] = [];
    hub.restore(() => {
      expect(hub.forUser(user).ready).toBeUndefined();
      hub.forUser(user).subscribe('room', (m) => seen.push(m.payload.text));
    });
    await flush();
    expect(opsFor('room')).toEqual([]);
    expect(hub.forUser(user).ready).toBeTypeOf('function');
    hub.deliver([chat('after')]);
    expect(seen).toEqual(['after']);
  });
});
