import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { WebSocket } from 'ws';
import type { AppEnv } from '../../src/deps';
import { createNodeWebSockets, type NodeWebSockets } from '../../src/node/node-websockets';
import type { ChannelHub, ChannelMessage } from '../../src/realtime/channel-hub';
import { databaseResourceCheck } from '../../src/realtime/database-resource-check';
import { RealtimeGateway, realtimeOptionsFrom } from '../../src/realtime/realtime-gateway';
import { createTestApp, type TestAppOptions, testConfig } from '../helpers/test-app';

/**
 * A real listening Node server (node-server + node-ws) around a test app: the same wiring as
 * src/node/server.ts, on a free port.
 */
export async function startRealtimeServer(
  options: TestAppOptions & {
    hub?: ChannelHub;
    /** Wraps the runtime's WebSockets the app is built with (e.g. to hold an upgrade open). */
    wrapWebSockets?: (websockets: NodeWebSockets) => NodeWebSockets;
    /** More WebSocket routes on the same upgrade listener, mounted after /ws. */
    afterRealtime?: (app: Hono<AppEnv>, websockets: NodeWebSockets) => void;
  } = {},
) {
  const websockets = createNodeWebSockets();
  const webSockets = options.wrapWebSockets?.(websockets) ?? websockets;
  const overrides = { ...options.overrides, webSockets, ...(options.hub && { hub: options.hub }) };
  const testApp = await createTestApp({ ...options, overrides });
  if (options.hub && !options.overrides?.realtime) {
    // The gateway createTestApp built listens to the default hub: this one uses the given hub.
    const clock = options.clock ?? (() => new Date());
    testApp.deps.realtime = new RealtimeGateway({
      hub: options.hub,
      ...realtimeOptionsFrom(testConfig(options.env)),
      mayRead: databaseResourceCheck(testApp.db),
      now: () => clock().getTime(),
    });
  }
  options.afterRealtime?.(testApp.app, websockets);
  const server = serve({ fetch: testApp.app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  websockets.attach(server, testApp.app);
  const port = (server.address() as AddressInfo).port;
  const gateway = testApp.deps.realtime as RealtimeGateway;
  const clients = new Set<TestClient>();

  return {
    ...testApp,
    gateway,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    /** Opens a socket with `?token=`; resolves once it is open. */
    async connect(token: string, clientOptions: { autoPong?: boolean } = {}) {
      const client = new TestClient(new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, clientOptions));
      clients.add(client);
      await client.opened();
      return client;
    },
    async close() {
      for (const client of clients) client.ws.terminate();
      await gateway.shutdown(1001, 'test over', 200);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await options.hub?.close();
      await testApp.close();
    },
  };
}

export type RealtimeServer = Awaited<ReturnType<typeof startRealtimeServer>>;

type Received = ChannelMessage & { payload: Record<string, any> };

/** A real `ws` client that keeps every message it receives, in order. */
export class TestClient {
  readonly received: Received[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.received.push(JSON.parse(data.toString()) as Received);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    ws.on('error', () => {});
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message not yet taken (optionally the next matching one), waiting up to `timeoutMs`. */
  async next(match: (m: Received) => boolean = () => true, timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const message = this.received[this.cursor++] as Received;
        if (match(message)) return message;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(this.received)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends and returns the next message: the request/ack round trip most tests need. */
  async request(message: unknown): Promise<Received> {
    this.send(message);
    return this.next();
  }

  async subscribe(channel: string): Promise<void> {
    const ack = await this.request({ event: 'subscribe', channel, payload: {} });
    if (ack.event !== 'subscribed' || ack.channel !== channel)
      throw new Error(`subscribe failed: ${JSON.stringify(ack)}`);
  }

  /** Messages received and not yet taken by `next`. */
  pending(): Received[] {
    return this.received.slice(this.cursor);
  }

  close(): void {
    this.ws.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
