import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { type RealtimeServer, sleep, startRealtimeServer, type TestClient } from './realtime-server';

type User = Awaited<ReturnType<RealtimeServer['registerUser']>>;

/** The connection is still usable after whatever the test sent. */
async function expectStillOpen(client: TestClient) {
  const pong = await client.request({ event: 'ping', channel: '', payload: {} });
  expect(pong).toEqual({ event: 'pong', channel: '', payload: {} });
  expect(client.isOpen).toBe(true);
}

describe('/ws protocol', () => {
  let server: RealtimeServer;
  let alice: User;
  let bob: User;
  let admin: User;

  beforeAll(async () => {
    server = await startRealtimeServer();
    alice = await server.registerUser();
    bob = await server.registerUser();
    admin = await server.registerUser('admin');
  });
  afterAll(() => server.close());

  describe('subscribe, unsubscribe, publish', () => {
    it('acks subscribe and unsubscribe with the channel', async () => {
      const client = await server.connect(alice.accessToken);
      expect(await client.request({ event: 'subscribe', channel: 'room-1', payload: {} })).toEqual({
        event: 'subscribed',
        channel: 'room-1',
        payload: {},
      });
      // Subscribing twice is idempotent: acked again, delivered once.
      expect((await client.request({ event: 'subscribe', channel: 'room-1' })).event).toBe('subscribed');
      expect(await client.request({ event: 'unsubscribe', channel: 'room-1', payload: {} })).toEqual({
        event: 'unsubscribed',
        channel: 'room-1',
        payload: {},
      });
      // Unsubscribing from a channel one is not in is acked too.
      expect((await client.request({ event: 'unsubscribe', channel: 'never-joined' })).event).toBe('unsubscribed');
    });

    it('delivers a publish to every subscriber of the channel (sender included), once each', async () => {
      const a = await server.connect(alice.accessToken);
      const b = await server.connect(bob.accessToken);
      const outsider = await server.connect(bob.accessToken);
      await a.subscribe('chat');
      await a.subscribe('chat');
      await b.subscribe('chat');
      await outsider.subscribe('other-room');

      a.send({ event: 'publish', channel: 'chat', payload: { text: 'hello', n: 1 } });
      const expected = { event: 'publish', channel: 'chat', payload: { text: 'hello', n: 1, senderId: alice.user.id } };
      expect(await a.next()).toEqual(expected);
      expect(await b.next()).toEqual(expected);
      await sleep(100);
      expect(a.pending()).toEqual([]);
      expect(b.pending()).toEqual([]);
      expect(outsider.pending()).toEqual([]);
    });

    it('delivers custom events the same way, and stops after unsubscribe', async () => {
      const producer = await server.connect(alice.accessToken);
      const tail = await server.connect(bob.accessToken);
      await tail.subscribe('logs:build-7');
      producer.send({ event: 'hive-log', channel: 'logs:build-7', payload: { line: 'step 1 ok' } });
      expect(await tail.next()).toEqual({
        event: 'hive-log',
        channel: 'logs:build-7',
        payload: { line: 'step 1 ok', senderId: alice.user.id },
      });

      await tail.request({ event: 'unsubscribe', channel: 'logs:build-7' });
      producer.send({ event: 'hive-log', channel: 'logs:build-7', payload: { line: 'step 2 ok' } });
      await sleep(100);
      expect(tail.pending()).toEqual([]);
    });

    it('drops extra top-level keys and reads a missing payload as {}', async () => {
      const a = await server.connect(alice.accessToken);
      await a.subscribe('extras');
      a.send({ event: 'note', channel: 'extras', payload: { x: 1 }, from: 'admin', id: 7 });
      expect(await a.next()).toEqual({ event: 'note', channel: 'extras', payload: { x: 1, senderId: alice.user.id } });
      a.send({ event: 'note', channel: 'extras' });
      expect(await a.next()).toEqual({ event: 'note', channel: 'extras', payload: { senderId: alice.user.id } });
    });

    it('loses nothing sent right after open: the immediate subscribe is acked and its publish delivered', async () => {
      for (let i = 0; i < 10; i++) {
        const { WebSocket } = await import('ws');
        const ws = new WebSocket(`${server.wsUrl}?token=${alice.accessToken}`);
        const received: any[] = [];
        ws.on('message', (data) => received.push(JSON.parse(data.toString())));
        ws.on('open', () => {
          ws.send(JSON.stringify({ event: 'subscribe', channel: `instant-${i}`, payload: {} }));
          ws.send(JSON.stringify({ event: 'publish', channel: `instant-${i}`, payload: { i } }));
        });
        const deadline = Date.now() + 3000;
        while (received.length < 2 && Date.now() < deadline) await sleep(5);
        expect(received).toEqual([
          { event: 'subscribed', channel: `instant-${i}`, payload: {} },
          { event: 'publish', channel: `instant-${i}`, payload: { i, senderId: alice.user.id } },
        ]);
        ws.close();
      }
    });

    it('answers an app-level ping with pong on the same channel', async () => {
      const a = await server.connect(alice.accessToken);
      expect(await a.request({ event: 'ping', channel: 'x', payload: { t: 1 } })).toEqual({
        event: 'pong',
        channel: 'x',
        payload: {},
      });
    });
  });

  describe('bad input gets an error event and the connection stays open', () => {
    let client: TestClient;
    beforeAll(async () => {
      client = await server.connect(alice.accessToken);
    });

    const cases: Array<[string, unknown, string]> = [
      ['invalid JSON', '{"event": "subscribe", ', 'invalid_json'],
      ['a JSON array', '[1,2,3]', 'invalid_message'],
      ['a JSON string', '"subscribe"', 'invalid_message'],
      ['JSON null', 'null', 'invalid_message'],
      ['a number', '42', 'invalid_message'],
      ['a missing event', { channel: 'room', payload: {} }, 'invalid_message'],
      ['a missing channel', { event: 'subscribe', payload: {} }, 'invalid_message'],
      ['a non-string event', { event: 5, channel: 'room', payload: {} }, 'invalid_message'],
      ['a non-string channel', { event: 'subscribe', channel: ['room'], payload: {} }, 'invalid_message'],
      ['an array payload', { event: 'publish', channel: 'room', payload: [1] }, 'invalid_message'],
      ['a null payload', { event: 'publish', channel: 'room', payload: null }, 'invalid_message'],
      ['a string payload', { event: 'publish', channel: 'room', payload: 'hi' }, 'invalid_message'],
      ['an empty event', { event: '', channel: 'room', payload: {} }, 'invalid_event'],
      ['an event with spaces', { event: 'drop table', channel: 'room', payload: {} }, 'invalid_event'],
      ['an event over 64 chars', { event: 'e'.repeat(65), channel: 'room', payload: {} }, 'invalid_event'],
      ['an empty channel', { event: 'subscribe', channel: '', payload: {} }, 'invalid_channel'],
      ['a channel with a slash', { event: 'subscribe', channel: 'a/b', payload: {} }, 'invalid_channel'],
      ['a channel with spaces', { event: 'publish', channel: 'a b', payload: {} }, 'invalid_channel'],
      ['a channel over 128 chars', { event: 'subscribe', channel: 'c'.repeat(129), payload: {} }, 'invalid_channel'],
      ['a non-ASCII channel', { event: 'subscribe', channel: 'räum', payload: {} }, 'invalid_channel'],
      ['a spoofed ack', { event: 'subscribed', channel: 'room', payload: {} }, 'reserved_event'],
      ['a spoofed error', { event: 'error', channel: 'room', payload: { code: 'x' } }, 'reserved_event'],
    ];
    for (const [name, frame, code] of cases) {
      it(`${name} → ${code}`, async () => {
        const reply = await client.request(frame);
        expect(reply.event).toBe('error');
        expect(typeof reply.channel).toBe('string');
        expect(reply.payload.code).toBe(code);
        expect(typeof reply.payload.message).toBe('string');
        await expectStillOpen(client);
      });
    }

    it('a message over 64 KiB → message_too_large (counted in UTF-8 bytes)', async () => {
      const big = { event: 'publish', channel: 'room', payload: { blob: 'x'.repeat(64 * 1024) } };
      const reply = await client.request(big);
      expect(reply).toMatchObject({ event: 'error', payload: { code: 'message_too_large', limit: 65536 } });
      // 30,000 three-byte characters: 90,000 bytes although the string is shorter than 64 Ki.
      const wide = await client.request({ event: 'publish', channel: 'room', payload: { blob: '€'.repeat(30_000) } });
      expect(wide.payload.code).toBe('message_too_large');
      // Just under the limit passes.
      await client.subscribe('big-ok');
      const fits = { event: 'publish', channel: 'big-ok', payload: { blob: 'y'.repeat(64 * 1024 - 100) } };
      client.send(fits);
      expect((await client.next()).payload.blob).toHaveLength(64 * 1024 - 100);
      await expectStillOpen(client);
    });

    it('a binary frame → binary_not_supported', async () => {
      client.ws.send(Buffer.from([1, 2, 3]));
      const reply = await client.next();
      expect(reply.payload.code).toBe('binary_not_supported');
      await expectStillOpen(client);
    });

    it('a frame over 1 MiB is refused by the transport with close 1009', async () => {
      const victim = await server.connect(alice.accessToken);
      victim.send('x'.repeat(1024 * 1024 + 10));
      expect((await victim.closed).code).toBe(1009);
      await expectStillOpen(client);
    });
  });

  describe('channel ACL', () => {
    it('lets a user subscribe and publish to their own notifications channel only', async () => {
      const a = await server.connect(alice.accessToken);
      await a.subscribe(`notifications:${alice.user.id}`);
      a.send({ event: 'publish', channel: `notifications:${alice.user.id}`, payload: { note: 'to self' } });
      expect((await a.next()).payload).toEqual({ note: 'to self', senderId: alice.user.id });

      const sub = await a.request({ event: 'subscribe', channel: `notifications:${bob.user.id}`, payload: {} });
      expect(sub).toMatchObject({
        event: 'error',
        channel: `notifications:${bob.user.id}`,
        payload: { code: 'forbidden' },
      });
      const pub = await a.request({ event: 'publish', channel: `notifications:${bob.user.id}`, payload: { spam: 1 } });
      expect(pub.payload.code).toBe('forbidden');
      const fake = await a.request({ event: 'subscribe', channel: 'notifications:', payload: {} });
      expect(fake.payload.code).toBe('forbidden');
    });

    it('resource channels (project:, workflow:, run:) are for who may read the resource: owner and admins', async () => {
      const created = await server.json('POST', '/projects', { name: 'p' }, alice.auth);
      const { project } = await readJson(created, bodies.project);
      const wfRes = await server.json(
        'POST',
        '/api/workflows',
        { name: 'w', steps: [{ id: 's', tool: 'echo', arguments: { text: 'x' } }] },
        alice.auth,
      );
      const { workflow } = await readJson(wfRes, bodies.workflow);
      const runRes = await server.json('POST', `/api/workflows/${workflow.id}/execute`, undefined, alice.auth);
      const { run } = await readJson(runRes, bodies.run);
      const channels = [
        `project:${project.id}`,
        `workflow:${workflow.id}`,
        `run:${run.id}`,
        `project:${project.id}:builds`,
        `run:${run.id.toUpperCase()}`,
      ];

      const owner = await server.connect(alice.accessToken);
      const root = await server.connect(admin.accessToken);
      const stranger = await server.connect(bob.accessToken);
      for (const channel of channels) {
        await owner.subscribe(channel);
        await root.subscribe(channel);
        const denied = await stranger.request({ event: 'subscribe', channel });
        expect(denied).toEqual({
          event: 'error',
          channel,
          payload: { code: 'forbidden', message: expect.stringMatching(/readable and writable only by who may read/) },
        });
        const spam = await stranger.request({ event: 'publish', channel, payload: { spam: true } });
        expect(spam.payload.code).toBe('forbidden');

        owner.send({ event: 'progress', channel, payload: { step: 1 } });
        const delivered = { event: 'progress', channel, payload: { step: 1, senderId: alice.user.id } };
        expect(await owner.next()).toEqual(delivered);
        expect(await root.next()).toEqual(delivered);
      }
      // A name in a resource namespace that cannot name a resource, and a missing resource, are refused alike.
      for (const channel of ['project:mine', `workflow:${crypto.randomUUID()}`, 'run:']) {
        expect((await owner.request({ event: 'subscribe', channel })).payload.code).toBe('forbidden');
      }
      await sleep(100);
      expect(stranger.pending()).toEqual([]);
      await expectStillOpen(stranger);
    });

    it('attributes every client publish: payload.senderId is the sender, whatever the client put there', async () => {
      const a = await server.connect(alice.accessToken);
      const b = await server.connect(bob.accessToken);
      await a.subscribe('lobby-attributed');
      b.send({
        event: 'publish',
        channel: 'lobby-attributed',
        payload: { text: 'I am alice', senderId: alice.user.id },
      });
      expect(await a.next()).toEqual({
        event: 'publish',
        channel: 'lobby-attributed',
        payload: { text: 'I am alice', senderId: bob.user.id },
      });
    });

    it('keeps notifications private even from admins, while the server can write to them', async () => {
      const root = await server.connect(admin.accessToken);
      const denied = await root.request({ event: 'subscribe', channel: `notifications:${bob.user.id}` });
      expect(denied.payload.code).toBe('forbidden');

      const b = await server.connect(bob.accessToken);
      await b.subscribe(`notifications:${bob.user.id}`);
      await server.deps.hub.publish({
        event: 'notification',
        channel: `notifications:${bob.user.id}`,
        payload: { msg: 'hi' },
      });
      expect(await b.next()).toEqual({
        event: 'notification',
        channel: `notifications:${bob.user.id}`,
        payload: { msg: 'hi' },
      });
    });

    it('lets clients subscribe to the workflow channel but never publish to it', async () => {
      const a = await server.connect(alice.accessToken);
      await a.subscribe('workflow');
      for (const event of ['publish', 'workflow-status']) {
        const reply = await a.request({
          event,
          channel: 'workflow',
          payload: { ownerId: alice.user.id, status: 'completed' },
        });
        expect(reply).toMatchObject({ event: 'error', channel: 'workflow', payload: { code: 'forbidden' } });
      }
      const root = await server.connect(admin.accessToken);
      expect((await root.request({ event: 'publish', channel: 'workflow', payload: {} })).payload.code).toBe(
        'forbidden',
      );
    });

    it('delivers workflow-status events to the run owner and admins, not to other users', async () => {
      const a = await server.connect(alice.accessToken);
      const b = await server.connect(bob.accessToken);
      const root = await server.connect(admin.accessToken);
      for (const c of [a, b, root]) await c.subscribe('workflow');

      const status = (ownerId: string, runId: string) => ({
        event: 'workflow-status',
        channel: 'workflow',
        payload: { runId, workflowId: 'wf-1', ownerId, status: 'running', stepIndex: 0, totalSteps: 2 },
      });
      await server.deps.hub.publish(status(alice.user.id, 'run-a'));
      await server.deps.hub.publish(status(bob.user.id, 'run-b'));

      expect((await a.next()).payload.runId).toBe('run-a');
      expect((await b.next()).payload.runId).toBe('run-b');
      expect((await root.next()).payload.runId).toBe('run-a');
      expect((await root.next()).payload.runId).toBe('run-b');
      await sleep(100);
      expect(a.pending()).toEqual([]);
      expect(b.pending()).toEqual([]);
    });
  });

  describe('limits', () => {
    it('allows 100 channels per connection and refuses the 101st', async () => {
      const a = await server.connect(alice.accessToken);
      for (let i = 0; i < 100; i++) a.send({ event: 'subscribe', channel: `many-${i}`, payload: {} });
      for (let i = 0; i < 100; i++) expect(await a.next()).toMatchObject({ event: 'subscribed', channel: `many-${i}` });
      const refused = await a.request({ event: 'subscribe', channel: 'many-100', payload: {} });
      expect(refused).toMatchObject({
        event: 'error',
        channel: 'many-100',
        payload: { code: 'too_many_channels', limit: 100 },
      });
      // Re-subscribing to a channel already held is fine; leaving one makes room.
      expect((await a.request({ event: 'subscribe', channel: 'many-5' })).event).toBe('subscribed');
      await a.request({ event: 'unsubscribe', channel: 'many-0' });
      expect((await a.request({ event: 'subscribe', channel: 'many-100' })).event).toBe('subscribed');
    });
  });
});
