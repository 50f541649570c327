import { DurableObject } from 'cloudflare:workers';
import type { WebSocket as CfWebSocket, DurableObjectState, WebSocketPair } from '@cloudflare/workers-types/index.ts';
import { loadConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import type { RealtimeUser } from '../realtime/channel-acl';
import type { ChannelMessage } from '../realtime/channel-hub';
import type { ConnectionCaps } from '../realtime/connection-caps';
import { databaseResourceCheck } from '../realtime/database-resource-check';
import { InMemoryChannelHub } from '../realtime/in-memory-channel-hub';
import { RealtimeGateway, realtimeOptionsFrom } from '../realtime/realtime-gateway';
import type { RealtimeStats } from '../realtime/realtime-stats';
import type { ResourceReadCheck } from '../realtime/resource-channels';
import { CLOSE_PING_TIMEOUT, CLOSE_TOKEN_EXPIRED, type RealtimeLimits, RealtimeSession } from '../realtime/session';
import type { UserTrafficBudgets } from '../realtime/user-traffic-budgets';
import type { ConnectionShardRpc } from './channel-ops';
import { createConsoleLogger } from './console-logger';
import { CONNECT_PATH, USER_HEADER } from './durable-object-channel-hub';
import { openEdgeDatabase } from './edge-database';
import { databaseUrlOf, type EdgeEnv, stringBindings } from './edge-env';
import { channelObjectOf } from './realtime-objects';
import { RecentEvents } from './recent-events';
import { ShardChannelHub } from './shard-channel-hub';

/** What survives hibernation with each socket (`serializeAttachment`, at most 16 KiB: 100 channels of 128 fit). */
interface Attachment {
  user: RealtimeUser;
  channels: string[];
  /** A ping went out and nothing came back yet; still true at the next heartbeat drops the peer. */
  awaitingPong: boolean;
}

interface Connection {
  session: RealtimeSession;
  attachment: Attachment;
  /** `on` while subscriptions are replayed after a wake-up: their acks were sent long ago. */
  mute: { on: boolean };
}

/** How long a subscribe waits for its channel object before the client is answered anyway. */
const SUBSCRIBE_TIMEOUT_MS = 2000;

/**
 * One connection shard of the edge's /ws (`idFromName('shard:' + n)`, n from the user id): the
 * sockets of the users hashed to it, each with the same `RealtimeSession` (protocol, ACL,
 * limits) as Node, over the WebSocket Hibernation API, and the shard's fan-out
 * (`ShardChannelHub`: channel objects forward to it what its subscribers should get).
 *
 * While nothing happens the object is evicted from memory and the sockets stay open; on the
 * next event the constructor rebuilds each session from its socket's attachment (user,
 * channels) — the channel objects kept this shard's registrations in their storage. The
 * heartbeat is a Durable Object alarm, not a timer (a pending timer would keep the object
 * awake): every ping interval it drops peers that did not answer the previous ping (the
 * `awaitingPong` flag lives in the attachment, so it survives hibernation) and pings the rest
 * with `{"event":"ping"}`; any message from the client counts as the answer.
 */
export class ConnectionShard extends DurableObject<EdgeEnv> implements ConnectionShardRpc {
  private readonly hub: ShardChannelHub;
  private readonly limits: RealtimeLimits;
  private readonly stats: RealtimeStats;
  private readonly pingIntervalMs: number;
  private readonly caps: ConnectionCaps;
  private readonly budgets: UserTrafficBudgets;
  private readonly mayRead?: ResourceReadCheck;
  private readonly logger: Logger;
  private readonly connections = new Map<CfWebSocket, Connection>();
  private readonly recentEvents = new RecentEvents();

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    const config = loadConfig(stringBindings(env));
    this.logger = createConsoleLogger(config.logLevel, { runtime: 'edge', component: 'connection-shard' });
    this.hub = new ShardChannelHub({
      shardId: ctx.id.toString(),
      channelObject: (channel) => channelObjectOf(env, channel),
      logger: this.logger,
      forwardQueue: config.edgeWsForwardQueue,
      subscribeTimeoutMs: SUBSCRIBE_TIMEOUT_MS,
    });
    // The gateway computes the limits exactly as Node does; its timer-driven session set is not used here.
    const gateway = new RealtimeGateway({ hub: new InMemoryChannelHub(), ...realtimeOptionsFrom(config) });
    this.limits = gateway.limits;
    this.stats = gateway.stats;
    this.pingIntervalMs = gateway.pingIntervalMs;
    // All of a user's sockets live on this shard, so the per-user cap is exact; the total cap is per shard.
    this.caps = gateway.caps;
    this.budgets = gateway.budgets;
    const databaseUrl = databaseUrlOf(env);
    if (databaseUrl) {
      // The object holds no connection between events: one per check (decisions are kept per session).
      this.mayRead = async (user, resource) => {
        const database = openEdgeDatabase(databaseUrl);
        try {
          return await databaseResourceCheck(database.db)(user, resource);
        } finally {
          database.close().catch(() => {});
        }
      };
    }
    for (const ws of ctx.getWebSockets()) this.restore(ws);
    if (this.connections.size > 0) {
      this.logger.info({ sockets: this.connections.size }, 'connection shard woke up');
    }
  }

  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === CONNECT_PATH) return this.connect(request);
    return new Response('not found', { status: 404 });
  }

  async deliver(messages: ChannelMessage[]): Promise<void> {
    this.hub.deliver(messages);
  }

  async deliverToOwners(messages: ChannelMessage[], eventId?: string): Promise<void> {
    if (eventId && this.recentEvents.seenBefore(eventId)) return;
    this.hub.deliverToOwners(messages);
  }

  async webSocketMessage(ws: CfWebSocket, data: string | ArrayBuffer): Promise<void> {
    const connection = this.connections.get(ws) ?? this.restore(ws);
    if (!connection) return;
    connection.session.receive(data);
    // A subscribe to a resource channel waits for its access check: record the channels after it.
    await connection.session.settled();
    this.remember(ws, connection, false);
  }

  async webSocketClose(ws: CfWebSocket, code: number, reason: string): Promise<void> {
    this.forget(ws);
    // Completes the closing handshake (1005/1006 are not codes one may send).
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  async webSocketError(ws: CfWebSocket): Promise<void> {
    this.forget(ws);
  }

  async alarm(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      const connection = this.connections.get(ws) ?? this.restore(ws);
      if (!connection) continue;
      // An expired token is the reason a socket closes, whether or not it answered the last ping.
      if (this.closeIfExpired(connection)) {
        this.forget(ws);
        continue;
      }
      if (connection.attachment.awaitingPong) {
        this.stats.pingTimeouts++;
        connection.session.close(CLOSE_PING_TIMEOUT, 'ping timeout');
        this.forget(ws);
        continue;
      }
      connection.session.heartbeat();
      this.remember(ws, connection, true);
    }
    if (this.connections.size > 0) await this.ctx.storage.setAlarm(Date.now() + this.pingIntervalMs);
  }

  private async connect(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const user = parseUser(request.headers.get(USER_HEADER));
    if (!user) return new Response('missing user', { status: 400 });
    const refusal = this.caps.refusal(user.id);
    if (refusal) {
      const { status, code, message, details, headers } = refusal;
      return Response.json({ error: { code, message, details } }, { status, headers });
    }
    const pair = new (globalThis as unknown as { WebSocketPair: typeof WebSocketPair }).WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const attachment: Attachment = { user, channels: [], awaitingPong: false };
    server.serializeAttachment(attachment);
    this.open(server, attachment);
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + this.pingIntervalMs);
    }
    return new Response(null, { status: 101, webSocket: client } as ResponseInit);
  }

  /**
   * A session for a socket, registered under it, and counted against the connection caps
   * (`connect` refused it beforehand if they were reached; a socket rebuilt after hibernation is
   * already open and is kept, counted only while there is room).
   */
  private open(ws: CfWebSocket, attachment: Attachment, granted: readonly string[] = []): Connection {
    const mute = { on: false };
    const counted = this.caps.take(attachment.user.id);
    const session = new RealtimeSession(
      attachment.user,
      {
        send: (text) => {
          if (!mute.on) ws.send(text);
        },
        close: (code, reason) => ws.close(code, reason),
      },
      {
        hub: this.hub.forUser(attachment.user),
        limits: this.limits,
        stats: this.stats,
        budgets: this.budgets,
        now: Date.now,
        mayRead: this.mayRead,
        onError: (error) => this.logger.warn({ err: { message: String(error) } }, 'realtime error'),
        onEnd: () => {
          if (counted) this.caps.release(attachment.user.id);
          this.connections.delete(ws);
          this.stats.connections = this.connections.size;
        },
      },
      granted,
    );
    const connection: Connection = { session, attachment, mute };
    this.connections.set(ws, connection);
    this.stats.connections = this.connections.size;
    this.stats.connectionsTotal++;
    return connection;
  }

  /** Rebuilds the session of a socket accepted before the object last hibernated. */
  private restore(ws: CfWebSocket): Connection | undefined {
    const attachment = ws.deserializeAttachment() as Attachment | null;
    if (!attachment?.user || ws.readyState !== 1) return undefined;
    // Its channels passed their access checks before the object slept: not asked again.
    const connection = this.open(ws, attachment, attachment.channels);
    if (this.closeIfExpired(connection)) return connection;
    connection.mute.on = true;
    this.hub.restore(() => {
      for (const channel of attachment.channels) {
        connection.session.receive(JSON.stringify({ event: 'subscribe', channel, payload: {} }));
      }
    });
    connection.mute.on = false;
    return connection;
  }

  /** Closes the socket with 4401 when the token it was opened with has expired. */
  private closeIfExpired(connection: Connection): boolean {
    const { expiresAt } = connection.session.user;
    if (expiresAt === undefined || Date.now() < expiresAt) return false;
    connection.session.close(CLOSE_TOKEN_EXPIRED, 'access token expired');
    return true;
  }

  /** Writes the attachment when what must survive hibernation changed. */
  private remember(ws: CfWebSocket, connection: Connection, awaitingPong: boolean): void {
    const { attachment, session } = connection;
    const channels = session.channels;
    const channelsChanged =
      channels.length !== attachment.channels.length || channels.some((c, i) => c !== attachment.channels[i]);
    if (!channelsChanged && attachment.awaitingPong === awaitingPong) return;
    connection.attachment = { user: attachment.user, channels, awaitingPong };
    try {
      ws.serializeAttachment(connection.attachment);
    } catch {
      // The socket closed meanwhile.
    }
  }

  private forget(ws: CfWebSocket): void {
    this.connections.get(ws)?.session.end();
    this.connections.delete(ws);
    this.stats.connections = this.connections.size;
  }
}

function parseUser(header: string | null): RealtimeUser | undefined {
  try {
    const user = JSON.parse(header ?? '') as Partial<RealtimeUser>;
    if (typeof user.id === 'string' && (user.role === 'user' || user.role === 'admin')) {
      return {
        id: user.id,
        role: user.role,
        expiresAt: typeof user.expiresAt === 'number' ? user.expiresAt : undefined,
      };
    }
  } catch {
    // Not JSON.
  }
  return undefined;
}
