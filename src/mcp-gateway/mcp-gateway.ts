import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from '../logging/logger';
import { describeError } from '../mcp/describe-error';
import { McpUnavailableError } from '../mcp/errors';
import type { McpConnector } from '../mcp/tool-client';
import { type GatewayTransportKind, McpGatewayStats } from './gateway-stats';
import { McpRelay, type RelayCloseReason } from './mcp-relay';
import { DEFAULT_SESSION_STREAM_LIMITS, type SessionStreamLimits } from './session-streams';
import type { ToolPolicy } from './tool-policy';

export interface McpGatewayOptions {
  /** Opens a new transport to the upstream MCP server; called once per client session. */
  connector: McpConnector;
  policy: ToolPolicy;
  logger: Logger;
  /** Sessions per user that count (every transport, stateless requests in flight included). */
  maxSessionsPerUser: number;
  /** Sessions of all users together. Default 1000. */
  maxSessions?: number;
  /** A session with no message either way and no request in flight for this long is closed. */
  sessionIdleMs: number;
  /**
   * A Streamable HTTP session whose client holds no stream and waits for no answer for this
   * long gives its place to anyone's new session at the global cap (to its own user's at once).
   * Default 30 s.
   */
  detachedSessionMs?: number;
  /** How long a request waits for the upstream's answer. */
  requestTimeoutMs: number;
  /** How long opening the upstream transport may take. Default 10 s. */
  connectTimeoutMs?: number;
  /** Memory of a Streamable HTTP session's event streams. */
  streamLimits?: Partial<SessionStreamLimits>;
  stats?: McpGatewayStats;
  /** Wall-clock milliseconds, for idle expiry and session accounting. Default `Date.now`. */
  now?: () => number;
}

/** Refused because the user (or the gateway as a whole) already holds the most sessions allowed. */
export class McpSessionLimitError extends Error {
  constructor(
    readonly scope: 'user' | 'gateway',
    /** When a session may be had: the soonest one of those in the way can stop counting. */
    readonly retryAfterSeconds: number,
  ) {
    super(
      scope === 'user'
        ? 'Too many open MCP sessions for this user; close one first'
        : 'Too many open MCP sessions; try again later',
    );
    this.name = 'McpSessionLimitError';
  }
}

/** A client transport that can say whether its client is still there (an open stream, a request waiting). */
export interface ClientPresence {
  readonly attached: boolean;
  onpresencechange?: () => void;
}

export interface OpenSessionRequest {
  userId: string;
  /** The client-facing server transport, not yet started. */
  client: Transport & Partial<ClientPresence>;
  kind: GatewayTransportKind;
  /** Stateless requests: the gateway initializes the upstream session itself. */
  handshake?: boolean;
  answersCancelledRequests?: boolean;
  /** See McpRelayOptions.refuseServerRequests. */
  refuseServerRequests?: string;
  /** How to close the client side when the session ends for another reason than the client leaving. */
  closeClient?(reason: RelayCloseReason): Promise<void>;
  onClose?(reason: RelayCloseReason): void;
}

/** One client session and its dedicated upstream session. */
export interface GatewaySession {
  readonly id: string;
  readonly userId: string;
  readonly kind: GatewayTransportKind;
  readonly relay: McpRelay;
  close(reason: RelayCloseReason): Promise<void>;
}

interface LiveSession extends GatewaySession {
  client: Partial<ClientPresence>;
  openedMs: number;
  lastActiveMs: number;
  /** Last time the client opened or closed a stream or had an answer. */
  lastPresenceMs: number;
  /** Gives its slot back (once). */
  release(): void;
}

const DEFAULT_MAX_SESSIONS = 1000;
const DEFAULT_DETACHED_SESSION_MS = 30_000;

/**
 * The `/mcp` gateway's sessions: opens one upstream session per client session (through
 * `connector`, so any upstream transport works), enforces the per-user and global caps,
 * closes idle sessions, and logs and counts every tool call. Transport-neutral and
 * portable: the Streamable HTTP handler and the WebSocket route hand it their server
 * transports.
 *
 * Caps are not a lever for one actor, nor a trap for their own user: a Streamable HTTP session
 * whose client holds no stream and waits for nothing (the SDK client's `close()` and most tools
 * never send DELETE) gives its place to the same user's next session at once, and to anyone's at
 * the global cap once nobody came back to it for `detachedSessionMs`; and at the global cap a user
 * holding fewer sessions than another (a newcomer above all) takes the least recently active
 * session of whoever holds the most, if that one holds at least two more (and so still as many
 * afterwards). A refusal's `retryAfterSeconds` is when the first session in the way can stop
 * counting.
 */
export class McpGateway {
  readonly stats: McpGatewayStats;
  readonly streamLimits: SessionStreamLimits;
  private readonly sessions = new Set<LiveSession>();
  /** Open sessions plus those being opened, per user. */
  private readonly perUser = new Map<string, number>();
  private total = 0;
  private accepting = true;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;
  private readonly maxSessions: number;
  private readonly detachedSessionMs: number;

  constructor(private readonly options: McpGatewayOptions) {
    this.stats = options.stats ?? new McpGatewayStats();
    this.now = options.now ?? Date.now;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.detachedSessionMs = options.detachedSessionMs ?? DEFAULT_DETACHED_SESSION_MS;
    this.streamLimits = { ...DEFAULT_SESSION_STREAM_LIMITS, ...options.streamLimits };
  }

  get policy(): ToolPolicy {
    return this.options.policy;
  }

  /** Open sessions of all users. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sessions of a user that count against the caps (open or being opened). */
  sessionsOf(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }

  /** Whether `open` would be refused by a cap right now (checked before a WebSocket upgrade). */
  limitFor(userId: string): McpSessionLimitError | undefined {
    const plan = this.admission(userId);
    return plan instanceof McpSessionLimitError ? plan : undefined;
  }

  /**
   * Opens the upstream session and starts relaying. Rejects with `McpSessionLimitError` over
   * a cap, `McpUnavailableError` when the upstream cannot be reached (the client transport is
   * then left for the caller to answer).
   */
  async open(request: OpenSessionRequest): Promise<GatewaySession> {
    if (!this.accepting) throw new McpUnavailableError('The MCP gateway is shutting down');
    const plan = this.admission(request.userId);
    if (plan instanceof McpSessionLimitError) {
      this.stats.sessionRejected();
      throw plan;
    }
    for (const session of plan) this.retire(session, request.userId);
    this.reserve(request.userId);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.unreserve(request.userId);
    };

    const { logger } = this.options;
    const openedMs = this.now();
    // Assigned right below; the relay's callbacks run only after start().
    let session: LiveSession;
    let upstream: Transport;
    try {
      upstream = await this.options.connector();
    } catch (error) {
      release();
      this.stats.upstreamConnectFailed();
      logger.warn(
        { userId: request.userId, err: { message: describeError(error) } },
        'mcp gateway cannot reach the upstream',
      );
      throw new McpUnavailableError('Cannot connect to the MCP server', { cause: error });
    }
    const relay = new McpRelay({
      client: request.client,
      upstream,
      userId: request.userId,
      policy: this.options.policy,
      requestTimeoutMs: this.options.requestTimeoutMs,
      startTimeoutMs: this.options.connectTimeoutMs,
      handshake: request.handshake,
      answersCancelledRequests: request.answersCancelledRequests,
      refuseServerRequests: request.refuseServerRequests,
      closeClient: request.closeClient,
      onActivity: () => {
        session.lastActiveMs = this.now();
      },
      onToolCall: (call) => {
        const record = { ...call, userId: request.userId, transport: request.kind };
        this.stats.recordToolCall(record);
        logger.info(record, 'mcp tool call');
      },
      onUpstreamError: (error) => {
        logger.warn({ userId: request.userId, err: { message: error.message } }, 'mcp gateway upstream error');
      },
      onClose: (reason) => {
        const known = this.sessions.delete(session);
        release();
        if (known) {
          this.stats.sessionClosed(request.kind);
          if (request.kind !== 'stateless') {
            const durationMs = this.now() - session.openedMs;
            logger.info({ userId: request.userId, transport: request.kind, reason, durationMs }, 'mcp session closed');
          }
        }
        if (this.sessions.size === 0) this.stopSweeper();
        request.onClose?.(reason);
      },
    });
    session = {
      id: crypto.randomUUID(),
      userId: request.userId,
      kind: request.kind,
      relay,
      client: request.client,
      openedMs,
      lastActiveMs: openedMs,
      lastPresenceMs: openedMs,
      release,
      close: (reason) => relay.close(reason),
    };
    request.client.onpresencechange = () => {
      session.lastPresenceMs = this.now();
    };
    try {
      await relay.start();
    } catch (error) {
      release();
      this.stats.upstreamConnectFailed();
      logger.warn(
        { userId: request.userId, err: { message: describeError(error) } },
        'mcp gateway cannot reach the upstream',
      );
      throw new McpUnavailableError('Cannot connect to the MCP server', { cause: error });
    }
    if (relay.closed) {
      // The upstream went away while starting; onClose already released the slot.
      throw new McpUnavailableError('The MCP server closed the session while it was being opened');
    }
    this.sessions.add(session);
    this.stats.sessionOpened(request.kind);
    this.startSweeper();
    if (request.kind !== 'stateless') {
      logger.info({ userId: request.userId, transport: request.kind }, 'mcp session opened');
    }
    return session;
  }

  /** Closes sessions idle longer than the limit; called periodically while any session is open. */
  closeIdleSessions(): void {
    const cutoff = this.now() - this.options.sessionIdleMs;
    for (const session of this.sessions) {
      if (session.kind === 'stateless' || session.lastActiveMs > cutoff) continue;
      // A long tool call is not idleness.
      if (session.relay.pendingRequests > 0) continue;
      void session.close('idle');
    }
  }

  /** Stops accepting sessions and closes every open one (clients get a close, upstream sessions end). */
  async shutdown(): Promise<void> {
    this.accepting = false;
    this.stopSweeper();
    await Promise.allSettled([...this.sessions].map((session) => session.close('shutdown')));
  }

  /**
   * What it takes to admit one more session of `userId`: the sessions to retire first (none,
   * usually), or the refusal. The user's own sessions whose clients have left (no stream, nothing
   * in flight) give way at once, least recently seen first: a script run again and again without
   * DELETE must not lock its user out. Someone else's gives way only once abandoned for
   * `detachedSessionMs`.
   */
  private admission(userId: string): LiveSession[] | McpSessionLimitError {
    const retire: LiveSession[] = [];
    const now = this.now();
    const mine = [...this.sessions].filter((session) => session.userId === userId);
    const myDetached = () =>
      this.oldest(mine.filter((session) => this.isDetached(session) && !retire.includes(session)));
    if (this.sessionsOf(userId) >= this.options.maxSessionsPerUser) {
      const left = myDetached();
      if (!left) return new McpSessionLimitError('user', this.retryAfterSeconds(mine, now));
      retire.push(left);
    }
    if (this.total - retire.length >= this.maxSessions) {
      const others = [...this.sessions].filter((session) => !retire.includes(session));
      const victim =
        myDetached() ??
        this.oldest(others.filter((session) => this.isAbandoned(session, now))) ??
        this.fairShareVictim(others, this.sessionsOf(userId) - retire.length);
      if (!victim) return new McpSessionLimitError('gateway', this.retryAfterSeconds(others, now));
      retire.push(victim);
    }
    return retire;
  }

  /** A Streamable HTTP session whose client holds no stream and waits for no answer. */
  private isDetached(session: LiveSession): boolean {
    return (
      session.kind === 'streamable-http' && session.client.attached === false && session.relay.pendingRequests === 0
    );
  }

  /** A detached session whose client has not been back for `detachedSessionMs`: it has walked away. */
  private isAbandoned(session: LiveSession, now: number): boolean {
    if (!this.isDetached(session)) return false;
    return now - Math.max(session.lastActiveMs, session.lastPresenceMs) >= this.detachedSessionMs;
  }

  /**
   * At the global cap: the least recently active session of the user holding the most, if that
   * user holds at least two more than the newcomer does now. Stateless requests in flight are never taken.
   */
  private fairShareVictim(candidates: LiveSession[], newcomerHolds: number): LiveSession | undefined {
    let heaviest: string | undefined;
    let most = newcomerHolds + 1;
    for (const [userId, count] of this.perUser) {
      if (count > most) {
        most = count;
        heaviest = userId;
      }
    }
    if (heaviest === undefined) return undefined;
    const theirs = candidates.filter((session) => session.userId === heaviest && session.kind !== 'stateless');
    return theirs.reduce<LiveSession | undefined>(
      (least, session) => (!least || session.lastActiveMs < least.lastActiveMs ? session : least),
      undefined,
    );
  }

  private oldest(sessions: LiveSession[]): LiveSession | undefined {
    return sessions.reduce<LiveSession | undefined>(
      (oldest, session) =>
        !oldest ||
        Math.max(session.lastActiveMs, session.lastPresenceMs) < Math.max(oldest.lastActiveMs, oldest.lastPresenceMs)
          ? session
          : oldest,
      undefined,
    );
  }

  /** Seconds until the first of `sessions` can stop counting (abandoned, or closed when idle). */
  private retryAfterSeconds(sessions: LiveSession[], now: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const session of sessions) {
      const lastSeen = Math.max(session.lastActiveMs, session.lastPresenceMs);
      let at: number;
      if (session.kind === 'stateless') at = now;
      else if (session.relay.pendingRequests > 0) at = now + this.detachedSessionMs;
      else if (session.kind === 'streamable-http' && session.client.attached === false)
        at = lastSeen + this.detachedSessionMs;
      else at = session.lastActiveMs + this.options.sessionIdleMs;
      soonest = Math.min(soonest, at);
    }
    // Sessions still being opened, not in the list yet: the soonest a slot could turn over.
    if (!Number.isFinite(soonest)) soonest = now;
    return Math.max(1, Math.ceil((soonest - now) / 1000));
  }

  private retire(session: LiveSession, forUserId: string): void {
    this.sessions.delete(session);
    session.release();
    this.stats.sessionClosed(session.kind);
    this.stats.sessionRetired();
    this.options.logger.info(
      {
        userId: session.userId,
        transport: session.kind,
        forUserId: forUserId === session.userId ? undefined : forUserId,
      },
      'mcp session retired to make room',
    );
    void session.close('retired');
  }

  private reserve(userId: string): void {
    this.perUser.set(userId, this.sessionsOf(userId) + 1);
    this.total++;
  }

  private unreserve(userId: string): void {
    const left = this.sessionsOf(userId) - 1;
    if (left > 0) this.perUser.set(userId, left);
    else this.perUser.delete(userId);
    this.total = Math.max(0, this.total - 1);
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    const every = Math.max(50, Math.min(30_000, Math.floor(this.options.sessionIdleMs / 4)));
    this.sweeper = setInterval(() => this.closeIdleSessions(), every);
    // Node: an open session alone must not keep the process alive.
    (this.sweeper as { unref?: () => void }).unref?.();
  }

  private stopSweeper(): void {
    if (!this.sweeper) return;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
