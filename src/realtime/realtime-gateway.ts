import type { Config } from '../config/config';
import type { HttpError } from '../errors/http-error';
import type { Logger } from '../logging/logger';
import type { RealtimeUser } from './channel-acl';
import type { ChannelHub } from './channel-hub';
import { ConnectionCaps, type ConnectionLimits } from './connection-caps';
import { MAX_CHANNELS_PER_CONNECTION } from './protocol';
import { emptyRealtimeStats, type RealtimeStats } from './realtime-stats';
import type { ResourceReadCheck } from './resource-channels';
import {
  CLOSE_GOING_AWAY,
  CLOSE_POLICY_VIOLATION,
  type RealtimeLimits,
  RealtimeSession,
  type SocketSink,
} from './session';
import { UserTrafficBudgets } from './user-traffic-budgets';

export const DEFAULT_PING_INTERVAL_MS = 30_000;

export const DEFAULT_REALTIME_LIMITS: Omit<RealtimeLimits, 'burst'> = {
  maxChannels: MAX_CHANNELS_PER_CONNECTION,
  messagesPerSecond: 50,
  maxBufferedBytes: 4 * 1024 * 1024,
  userBytesPerSecond: 8 * 1024 * 1024,
};

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnectionsPerUser: 20, maxConnections: 10_000 };

export interface RealtimeGatewayOptions {
  hub: ChannelHub;
  pingIntervalMs?: number;
  limits?: Partial<RealtimeLimits>;
  connections?: Partial<ConnectionLimits>;
  /** Who may use a resource channel (`project:<id>`, ...); absent: nobody may. */
  mayRead?: ResourceReadCheck;
  /** Milliseconds clock for the rate limiter; tests inject one they control. */
  now?: () => number;
  logger?: Logger;
}

/** The gateway options the configuration sets (WS_* variables), the same on Node and in the edge's connection shards. */
export function realtimeOptionsFrom(
  config: Config,
): Required<Pick<RealtimeGatewayOptions, 'pingIntervalMs' | 'limits' | 'connections'>> {
  return {
    pingIntervalMs: config.wsPingIntervalMs,
    limits: {
      messagesPerSecond: config.wsMessagesPerSecond,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      userBytesPerSecond: config.wsUserBytesPerSecond,
    },
    connections: { maxConnectionsPerUser: config.wsMaxConnectionsPerUser, maxConnections: config.wsMaxConnections },
  };
}

/**
 * The realtime service of one process: its open sessions, one heartbeat timer for all of them
 * (started with the first connection, stopped with the last, so idle processes and tests hold
 * no timer), the counters, and the shutdown that closes every socket with a reason.
 */
export class RealtimeGateway {
  readonly stats: RealtimeStats = emptyRealtimeStats();
  readonly limits: RealtimeLimits;
  readonly pingIntervalMs: number;
  readonly caps: ConnectionCaps;
  /** Per-user byte budgets, shared by each user's sessions. */
  readonly budgets: UserTrafficBudgets;
  private readonly sessions = new Set<RealtimeSession>();
  private heartbeat?: ReturnType<typeof setInterval>;
  private shuttingDown = false;
  private readonly emptied: Array<() => void> = [];

  constructor(private readonly options: RealtimeGatewayOptions) {
    const limits = { ...DEFAULT_REALTIME_LIMITS, ...options.limits };
    // The default burst lets a client subscribe to all its channels at once right after connecting.
    this.limits = { ...limits, burst: limits.burst ?? Math.max(2 * limits.messagesPerSecond, 2 * limits.maxChannels) };
    this.pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.caps = new ConnectionCaps({ ...DEFAULT_CONNECTION_LIMITS, ...options.connections });
    this.budgets = new UserTrafficBudgets(this.limits.userBytesPerSecond, options.now ?? Date.now);
  }

  /** Why `userId` may not open a connection now (the upgrade answers it), or undefined. */
  refusal(userId: string): HttpError | undefined {
    return this.caps.refusal(userId);
  }

  /** False once shutdown began: the route answers new upgrades with 503. */
  get accepting(): boolean {
    return !this.shuttingDown;
  }

  /**
   * A session for a socket that just opened, or undefined (and the socket closed with 1008)
   * when a connection cap was reached since the upgrade was let through.
   */
  connect(user: RealtimeUser, sink: SocketSink): RealtimeSession | undefined {
    if (!this.caps.take(user.id)) {
      sink.close(CLOSE_POLICY_VIOLATION, this.caps.refusal(user.id)?.message ?? 'too many connections');
      return undefined;
    }
    const session = new RealtimeSession(user, sink, {
      hub: this.options.hub,
      limits: this.limits,
      stats: this.stats,
      budgets: this.budgets,
      now: this.options.now ?? Date.now,
      mayRead: this.options.mayRead,
      onError: (error) =>
        this.options.logger?.warn({ err: { message: (error as Error)?.message ?? String(error) } }, 'realtime error'),
      onEnd: (ended) => this.release(ended),
    });
    this.sessions.add(session);
    this.stats.connections = this.sessions.size;
    this.stats.connectionsTotal++;
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.sweep(), this.pingIntervalMs);
      // Never keep a Node process alive just for pings (no-op where timers are plain numbers).
      (this.heartbeat as { unref?: () => void }).unref?.();
    }
    return session;
  }

  /** One heartbeat over every session: ping the live ones, drop the silent ones. */
  sweep(): void {
    for (const session of [...this.sessions]) session.heartbeat();
  }

  /**
   * Closes every socket with `code`/`reason` and waits up to `graceMs` for the peers to answer
   * the close frame; sockets still open after that are dropped.
   */
  async shutdown(code = CLOSE_GOING_AWAY, reason = 'server shutting down', graceMs = 2000): Promise<void> {
    this.shuttingDown = true;
    for (const session of [...this.sessions]) session.close(code, reason);
    if (this.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.emptied.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const session of [...this.sessions]) session.terminate();
    this.stopHeartbeat();
  }

  private release(session: RealtimeSession): void {
    if (!this.sessions.delete(session)) return;
    this.caps.release(session.user.id);
    this.stats.connections = this.sessions.size;
    if (this.sessions.size === 0) {
      this.stopHeartbeat();
      for (const notify of this.emptied.splice(0)) notify();
    }
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
