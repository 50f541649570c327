import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { SIGNATURE_HEADER, signatureProblem, signEvent, TIMESTAMP_HEADER } from '../../src/realtime/event-signature';
import { silentLogger } from '../../src/logging/logger';
import { EdgeEventForwarder, withEdgeEvents } from '../../src/node/edge-event-forwarder';
import { listenForNewRuns } from '../../src/node/run-notifications';
import type { ChannelMessage } from '../../src/realtime/channel-hub';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { notifyRunQueue } from '../../src/runs/notify-run-queue';
import { createTestDatabase } from '../helpers/test-app';

const SECRET = 'edge-events-secret-that-is-32-bytes-or-more';

describe('event signatures', () => {
  it('accepts what was signed with the secret within five minutes, and nothing else', async () => {
    const body = '{"messages":[]}';
    const now = Date.now();
    const signed = await signEvent(SECRET, body, now);
    const headers = { timestamp: signed[TIMESTAMP_HEADER], signature: signed[SIGNATURE_HEADER] };
    expect(await signatureProblem(SECRET, body, headers, now + 60_000)).toBeUndefined();
    expect(await signatureProblem(SECRET, `${body} `, headers, now)).toBe('invalid');
    expect(await signatureProblem(`${SECRET}x`, body, headers, now)).toBe('invalid');
    expect(await signatureProblem(SECRET, body, headers, now + 301_000)).toBe('stale');
    expect(await signatureProblem(SECRET, body, headers, now - 301_000)).toBe('stale');
    expect(await signatureProblem(SECRET, body, { timestamp: headers.timestamp }, now)).toBe('missing');
    expect(await signatureProblem(SECRET, body, { ...headers, signature: 'v1=zz' }, now)).toBe('invalid');
    expect(await signatureProblem(SECRET, body, { ...headers, timestamp: '12abc' }, now)).toBe('invalid');
    // A signature for another timestamp does not transfer.
    const other = String(Number(headers.timestamp) + 1);
    expect(await signatureProblem(SECRET, body, { ...headers, timestamp: other }, now)).toBe('invalid');
  });
});

describe('EdgeEventForwarder', () => {
  let server: Server;
  let url: string;
  const received: Array<{ problem: string | undefined; messages: ChannelMessage[] }> = [];
  let status = 202;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', async () => {
        const problem = await signatureProblem(SECRET, body, {
          timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
          signature: req.headers[SIGNATURE_HEADER] as string | undefined,
        });
        received.push({ problem, messages: (JSON.parse(body) as { messages: ChannelMessage[] }).messages });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/events`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const status$ = (runId: string, s: string): ChannelMessage => ({
    event: 'workflow-status',
    channel: 'workflow',
    payload: { runId, ownerId: 'u1', status: s },
  });

  it('posts workflow events, signed and in order, and still delivers everything locally', async () => {
    received.length = 0;
    const inner = new InMemoryChannelHub();
    const local: ChannelMessage[] = [];
    inner.subscribe('workflow', (m) => local.push(m));
    inner.subscribe('room', (m) => local.push(m));
    const hub = new EdgeEventForwarder(inner, { url, secret: SECRET, logger: silentLogger });
    const events = ['queued', 'running', 'step', 'step', 'completed'].map((s, i) => status$(`r${i}`, s));
    for (const event of events) await hub.publish(event);
    await hub.publish({ event: 'chat', channel: 'room', payload: { text: 'not for the edge' } });
    await hub.flush();
    expect(local).toHaveLength(6);
    expect(received.every((r) => r.problem === undefined)).toBe(true);
    expect(received.flatMap((r) => r.messages)).toEqual(events);
    await hub.close();
  });

  it('never fails a publish when the edge refuses or is unreachable', async () => {
    status = 500;
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_: object, msg?: string) => warnings.push(msg ?? '') };
    const refusing = new EdgeEventForwarder(new InMemoryChannelHub(), { url, secret: SECRET, logger });
    await refusing.publish(status$('r9', 'running'));
    await refusing.flush();
    status = 202;
    const unreachable = new EdgeEventForwarder(new InMemoryChannelHub(), {
      url: 'http://127.0.0.1:9/internal/events',
      secret: SECRET,
      logger,
      timeoutMs: 1000,
    });
    await unreachable.publish(status$('r10', 'running'));
    await unreachable.close();
    expect(warnings).toEqual(['edge events: rejected', 'edge events: not delivered']);
  });

  it('is configured by EDGE_EVENTS_URL with a 32-byte EDGE_EVENTS_SECRET', () => {
    expect(() => loadConfig({ EDGE_EVENTS_URL: url })).toThrow(/EDGE_EVENTS_SECRET is required with EDGE_EVENTS_URL/);
    expect(() => loadConfig({ EDGE_EVENTS_URL: url, EDGE_EVENTS_SECRET: 'short' })).toThrow(/EDGE_EVENTS_SECRET/);
    expect(() => loadConfig({ EDGE_EVENTS_URL: 'ftp://edge', EDGE_EVENTS_SECRET: SECRET })).toThrow(/EDGE_EVENTS_URL/);
    const config = loadConfig({ EDGE_EVENTS_URL: url, EDGE_EVENTS_SECRET: SECRET });
    expect(config).toMatchObject({ edgeEventsUrl: url, edgeEventsSecret: SECRET });
  });

  it('is only installed when EDGE_EVENTS_URL and EDGE_EVENTS_SECRET are set', () => {
    const hub = new InMemoryChannelHub();
    expect(withEdgeEvents(hub, {}, silentLogger)).toBe(hub);
    expect(withEdgeEvents(hub, { edgeEventsUrl: url, edgeEventsSecret: SECRET }, silentLogger)).toBeInstanceOf(
      EdgeEventForwarder,
    );
  });
});

describe('run notifications', () => {
  it('announces a run written without Redis to a LISTENing Node process at once', async () => {
    const database = await createTestDatabase();
    const runs: string[] = [];
    const listening = await listenForNewRuns(database.url, (runId) => runs.push(runId), silentLogger);
    try {
      const runId = crypto.randomUUID();
      // The listener has no poll of its own: a run reaches it only through NOTIFY.
      await notifyRunQueue(database.db, silentLogger).enqueue({
        id: runId,
        workflowId: runId,
        ownerId: runId,
        workflowName: 'w',
      });
      await expect.poll(() => runs, { timeout: 10_000, interval: 5 }).toEqual([runId]);
    } finally {
      await listening.close();
      await database.close();
    }
  });
});
