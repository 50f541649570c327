import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from '../logging/logger';
import { McpUnavailableError } from '../mcp/errors';
import type { McpConnector } from '../mcp/tool-client';
import { type GatewayTransportKind, McpGatewayStats } from './gateway-stats';
import { McpRelay, type RelayCloseReason } from './mcp-relay';
import type { RuntimeBodyReader } from './request-reader';
import type { ToolPolicy } from './tool-policy';

export interface McpGatewayOptions {
  /** Opens a new transport to the upstream MCP server; called once per client session. */
  connector: McpConnector;
  policy: ToolPolicy;
  logger: Logger;
  /** Concurrent sessions per user (every transport, stateless requests in flight included). */
  maxSessionsPerUser: number;
  /** Concurrent sessions of all users together. Default 1000. */
  maxSessions?: number;
  /** A session with no message either way and no request in flight for this long is closed. */
  sessionIdleMs: number;
  /** How long a request waits for the upstream's answer. */
  requestTimeoutMs: number;
  /** How long opening the upstream transport may take. Default 10 s. */
  connectTimeoutMs?: number;
  stats?: McpGatewayStats;
  /** Wall-clock milliseconds, for idle expiry. Default `Date.now`. */
  now?: () => number;
  /** See `McpRelayOptions.defer`; Node passes `afterIo` (src/node/mcp-gateway-factory.ts). */
  defer?: (task: () => void) => void;
  /** How the Streamable HTTP front may read request bodies on this runtime; Node passes `readIncomingBody`. */
  readBody?: RuntimeBodyReader;
}

/** Refused because the user (or the gateway as a whole) already holds the most sessions allowed. */
export class McpSessionLimitError extends Error {
  constructor(readonly scope: 'user' | 'gateway') {
    super(
      scope === 'user'
        ? 'Too many open MCP sessions for this user; close one first'
        : 'Too many open MCP sessions; try again later',
    );
    this.name = 'McpSessionLimitError';
  }
}

export interface OpenSessionRequest {
  userId: string;
  /** The client-facing server transport, not yet started. */
  client: Transport;
  kind: GatewayTransportKind;
  /** Stateless requests: the gateway initializes the upstream session itself. */
  handshake?: boolean;
  relatesMessages?: boolean;
  answersCancelledRequests?: boolean;
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
  openedMs: number;
  lastActiveMs: number;
}

const DEFAULT_MAX_SESSIONS = 1000;

/**
 * The `/mcp` gateway's sessions: opens one upstream session per client session (through
 * `connector`, so any upstream transport works), enforces the per-user and global caps,
 * closes idle sessions, and logs and counts every tool call. Transport-neutral and
 * portable: the Streamable HTTP handler and the WebSocket route hand it their server
 * transports.
 */
export class McpGateway {
  readonly stats: McpGatewayStats;
  private readonly sessions = new Set<LiveSession>();
  /** Open sessions plus those being opened, per user. */
  private readonly perUser = new Map<string, number>();
  private total = 0;
  private accepting = true;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;
  private readonly maxSessions: number;

  constructor(private readonly options: McpGatewayOptions) {
    this.stats = options.stats ?? new McpGatewayStats();
    this.now = options.now ?? Date.now;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  get policy(): ToolPolicy {
    return this.options.policy;
  }

  get readBody(): RuntimeBodyReader | undefined {
    return this.options.readBody;
  }

  /** Open sessions of all users. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  sessionsOf(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }

  /** Whether `open` would be refused by a cap right now (checked before a WebSocket upgrade). */
  limitFor(userId: string): McpSessionLimitError | undefined {
    if (this.sessionsOf(userId) >= this.options.maxSessionsPerUser) return new McpSessionLimitError('user');
    if (this.total >= this.maxSessions) return new McpSessionLimitError('gateway');
    return undefined;
  }

  /**
   * Opens the upstream session and starts relaying. Rejects with `McpSessionLimitError` over
   * a cap, `McpUnavailableError` when the upstream cannot be reached (the client transport is
   * then left for the caller to answer).
   */
  async open(request: OpenSessionRequest): Promise<GatewaySession> {
    if (!this.accepting) throw new McpUnavailableError('The MCP gateway is shutting down');
    const limit = this.limitFor(request.userId);
    if (limit) {
      this.stats.sessionRejected();
      throw limit;
    }
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
      throw new McpUnavailableError(`Cannot connect to the MCP server: ${describe(error)}`, { cause: error });
    }
    const relay = new McpRelay({
      client: request.client,
      upstream,
      userId: request.userId,
      policy: this.options.policy,
      requestTimeoutMs: this.options.requestTimeoutMs,
      startTimeoutMs: this.options.connectTimeoutMs,
      handshake: request.handshake,
      relatesMessages: request.relatesMessages,
      answersCancelledRequests: request.answersCancelledRequests,
      closeClient: request.closeClient,
      defer: this.options.defer,
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
      openedMs,
      lastActiveMs: openedMs,
      close: (reason) => relay.close(reason),
    };
    try {
      await relay.start();
    } catch (error) {
      release();
      this.stats.upstreamConnectFailed();
      throw new McpUnavailableError(`Cannot connect to the MCP server: ${describe(error)}`, { cause: error });
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

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
