import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { SseConnection } from './sse-connection';

/** Memory one Streamable HTTP session may hold for its client's event streams. */
export interface SessionStreamLimits {
  /** Events already sent, kept so a client that lost a stream can resume it with `Last-Event-ID`. */
  replayBytes: number;
  /**
   * Server messages waiting for the client to open its GET stream, and events written to a
   * connection the client does not read. Beyond that the session ends (`onOverflow`): nothing
   * is dropped silently.
   */
  backlogBytes: number;
  /** Comment lines on open streams this often. */
  keepAliveMs: number;
  /** A request's stream hands out its response headers after this long even if no event came yet. */
  firstEventWaitMs: number;
}

export const DEFAULT_SESSION_STREAM_LIMITS: SessionStreamLimits = {
  replayBytes: 256 * 1024,
  backlogBytes: 4 * 1024 * 1024,
  keepAliveMs: 15_000,
  firstEventWaitMs: 1000,
};

interface Stream {
  /** Event ids are `<key>_<sequence>`; the GET stream's key is "0". */
  readonly key: string;
  seq: number;
  connection?: SseConnection;
  /** A request's stream ends with its answer. */
  done: boolean;
  /** Events of this stream still in the log. */
  logged: number;
}

interface LoggedEvent {
  stream: Stream;
  seq: number;
  text: string;
  bytes: number;
  delivered: boolean;
}

export interface SessionStreamHooks {
  /** Headers of every stream response (the session id). */
  headers: Record<string, string>;
  /** A client connection opened or closed. */
  onPresenceChange?(): void;
  /** More than `backlogBytes` wait for the client. */
  onOverflow?(): void;
}

const STANDALONE_KEY = '0';

function eventText(key: string, seq: number, message: JSONRPCMessage): string {
  return `event: message\nid: ${key}_${seq}\ndata: ${JSON.stringify(message)}\n\n`;
}

/**
 * The Server-Sent Event streams of one Streamable HTTP session, as the gateway's client sees
 * them: the GET stream for messages that belong to no request, and one stream per request
 * answered with SSE. Every event has an id; the session keeps a bounded log of them, so a
 * client that lost a stream resumes it with `Last-Event-ID` (a request's stream continues on
 * the GET that resumes it, up to its answer), and messages sent while no GET stream is open
 * wait for one instead of being dropped.
 */
export class SessionStreams {
  private readonly standalone: Stream = { key: STANDALONE_KEY, seq: 0, done: false, logged: 0 };
  private readonly byKey = new Map<string, Stream>([[STANDALONE_KEY, this.standalone]]);
  private readonly byRequest = new Map<RequestId, Stream>();
  private log: LoggedEvent[] = [];
  private loggedBytes = 0;
  /** Bytes of GET-stream events not yet written to a client connection. */
  private waitingBytes = 0;
  private liveConnections = 0;
  private nextKey = 1;
  private closed = false;

  constructor(
    private readonly limits: SessionStreamLimits,
    private readonly hooks: SessionStreamHooks,
  ) {}

  /** Whether the client holds any open stream. */
  get attached(): boolean {
    return this.liveConnections > 0;
  }

  /** Bytes held in the log (sent and waiting). */
  get heldBytes(): number {
    return this.loggedBytes;
  }

  hasRequestStream(requestId: RequestId): boolean {
    return this.byRequest.has(requestId);
  }

  /**
   * Opens the stream a request is answered on. `priming`: the client's protocol version knows
   * events without data (2025-11-25 on): its first event then carries an id and nothing else,
   * so the client can resume the stream even before any message.
   */
  openRequestStream(requestId: RequestId, priming: boolean): Promise<Response> {
    const stream: Stream = { key: (this.nextKey++).toString(36), seq: 0, done: false, logged: 0 };
    this.byKey.set(stream.key, stream);
    this.byRequest.set(requestId, stream);
    const connection = this.connect(stream, this.limits.firstEventWaitMs);
    if (priming) connection.write(`id: ${stream.key}_0\ndata: \n\n`, true);
    return connection.response;
  }

  /** A message on a request's stream; `answer` ends the stream. */
  sendOnRequest(requestId: RequestId, message: JSONRPCMessage, answer: boolean): void {
    const stream = this.byRequest.get(requestId);
    if (!stream) {
      this.sendStandalone(message);
      return;
    }
    this.append(stream, message);
    if (!answer) return;
    stream.done = true;
    this.byRequest.delete(requestId);
    if (stream.connection) this.release(stream, stream.connection);
  }

  /** A message that belongs to no request: on the GET stream, or kept until one opens. */
  sendStandalone(message: JSONRPCMessage): void {
    this.append(this.standalone, message);
  }

  /**
   * A GET: the session's stream for server messages, or the resumption of a stream the client
   * lost (`lastEventId`), which replaces whatever connection that stream had. An id this session
   * does not know (or no longer keeps) opens the GET stream. Undefined (a conflict, as the SDK's
   * server answers it) for a GET stream asked for while one is open and none is resumed: taking
   * its place would end the client's live stream, which the SDK client reopens in turn, and the
   * two would take each other's place for as long as the session lives.
   */
  attach(lastEventId: string | undefined): Promise<Response> | undefined {
    const [key, seqText] = lastEventId?.split('_') ?? [];
    const known = key === undefined ? undefined : this.byKey.get(key);
    if (!known && this.standalone.connection?.live) return undefined;
    const stream = known ?? this.standalone;
    const after = known && seqText !== undefined && /^\d+$/.test(seqText) ? Number(seqText) : undefined;
    if (stream.connection) this.release(stream, stream.connection);
    const connection = this.connect(stream);
    connection.open();
    const replay: string[] = [];
    for (const event of this.log) {
      if (event.stream !== stream) continue;
      if (after === undefined ? event.delivered : event.seq <= after) continue;
      replay.push(event.text);
      this.markDelivered(event);
    }
    if (replay.length > 0) connection.write(replay.join(''));
    if (stream.done) this.release(stream, connection);
    return connection.response;
  }

  /** Ends every open stream. */
  close(): void {
    this.closed = true;
    for (const stream of this.byKey.values()) if (stream.connection) this.release(stream, stream.connection);
    this.log = [];
    this.loggedBytes = 0;
    this.waitingBytes = 0;
  }

  private connect(stream: Stream, openAfterMs?: number): SseConnection {
    const connection: SseConnection = new SseConnection({
      headers: this.hooks.headers,
      keepAliveMs: this.limits.keepAliveMs,
      maxQueuedBytes: this.limits.backlogBytes + this.limits.replayBytes,
      openAfterMs,
      onLost: () => this.lost(stream, connection),
    });
    stream.connection = connection;
    this.liveConnections++;
    this.hooks.onPresenceChange?.();
    return connection;
  }

  /** Ends a connection of ours. */
  private release(stream: Stream, connection: SseConnection): void {
    connection.end();
    this.lost(stream, connection);
  }

  private lost(stream: Stream, connection: SseConnection): void {
    if (stream.connection !== connection) return;
    stream.connection = undefined;
    this.liveConnections--;
    this.hooks.onPresenceChange?.();
  }

  private append(stream: Stream, message: JSONRPCMessage): void {
    if (this.closed) return;
    const seq = ++stream.seq;
    const text = eventText(stream.key, seq, message);
    const event: LoggedEvent = { stream, seq, text, bytes: text.length, delivered: false };
    this.log.push(event);
    stream.logged++;
    this.loggedBytes += event.bytes;
    if (stream.connection?.write(text)) event.delivered = true;
    else if (stream === this.standalone) this.waitingBytes += event.bytes;
    this.trim();
  }

  private markDelivered(event: LoggedEvent): void {
    if (event.delivered) return;
    event.delivered = true;
    if (event.stream === this.standalone) this.waitingBytes -= event.bytes;
  }

  /**
   * Keeps the log within `replayBytes` plus what waits for the GET stream: the oldest events
   * that may go (sent, or on a request's stream the client walked away from) go first, down to
   * half the budget so that trimming is not done on every event.
   */
  private trim(): void {
    if (this.waitingBytes > this.limits.backlogBytes) {
      this.hooks.onOverflow?.();
      return;
    }
    if (this.loggedBytes - this.waitingBytes <= this.limits.replayBytes) return;
    let excess = this.loggedBytes - this.waitingBytes - this.limits.replayBytes / 2;
    this.log = this.log.filter((event) => {
      const waiting = !event.delivered && event.stream === this.standalone;
      if (excess <= 0 || waiting) return true;
      excess -= event.bytes;
      this.loggedBytes -= event.bytes;
      this.forget(event.stream);
      return false;
    });
  }

  private forget(stream: Stream): void {
    stream.logged--;
    if (stream.logged === 0 && stream.done && !stream.connection) this.byKey.delete(stream.key);
  }
}
