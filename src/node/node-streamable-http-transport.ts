import type { Readable } from 'node:stream';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import { redactUrl } from '../config/redact-url';
import { toJsonRpcMessage } from '../mcp-gateway/json-rpc';
import type { RelatedMessageExtra, RelatingUpstream } from '../mcp-gateway/stream-relations';

/** An HTTP status from the MCP server; `code` as on the SDK's `StreamableHTTPError` (the relay reads it). */
export class McpHttpStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'McpHttpStatusError';
  }
}

export interface NodeStreamableHttpOptions {
  /** The platform's own upstream credentials (e.g. Authorization), sent on every request. */
  headers?: Record<string, string>;
  /** Keep-alive connections to the server's origin, shared by the sessions of one connector (an undici `Pool`). */
  pool: Dispatcher;
}

type UpstreamResponse = Dispatcher.ResponseData;

const GET_STREAM_RETRY_MS = 1000;
/** How long the first GET may take before `notifications/initialized` goes out anyway. */
const GET_STREAM_OPEN_WAIT_MS = 2000;
const GET_STREAM_REFUSED_RETRY_MS = 100;
/** The reconnection delay when the server names none (as the SDK's client). */
const DEFAULT_RETRY_MS = 1000;
/** Resumptions of one request's stream before it is given up. */
const MAX_RESUMES = 3;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The same rule as src/mcp/streamable-http-with-sse-fallback.ts: a 4xx other than these
// to the first POST means an old HTTP+SSE-only server (it has no POST route there).
function meansNoStreamableHttp(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 429].includes(status);
}

interface SseEvent {
  data: string;
  id?: string;
  /** The reconnection delay the server asks for, in ms. */
  retry?: number;
}

/**
 * Calls `onEvent` for each Server-Sent Event as it arrives on `body`: its data (empty for a
 * priming event, which only carries an id), id and retry field. Events of another type than
 * `message` are reported without their data; comments are keep-alives. Resolves when the stream
 * ends; rejects if the connection fails first.
 */
function readSse(body: Readable, onEvent: (event: SseEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let data: string[] = [];
    let event = 'message';
    let id: string | undefined;
    let retry: number | undefined;
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.search(/\r\n|\r|\n/); end !== -1; end = buffer.search(/\r\n|\r|\n/)) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer.startsWith('\r\n', end) ? end + 2 : end + 1);
        if (line === '') {
          if (data.length > 0 || id !== undefined || retry !== undefined) {
            onEvent({ data: event === 'message' ? data.join('\n') : '', id, retry });
          }
          data = [];
          event = 'message';
          id = undefined;
          retry = undefined;
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        } else if (line.startsWith('event:')) {
          event = line.slice(6).trim();
        } else if (line.startsWith('id:')) {
          id = line.slice(line.startsWith('id: ') ? 4 : 3);
        } else if (line.startsWith('retry:') && /^\d+$/.test(line.slice(6).trim())) {
          retry = Number(line.slice(6).trim());
        }
      }
    });
    body.once('end', () => resolve());
    body.once('error', reject);
  });
}

/**
 * MCP Streamable HTTP, client side, on an undici `Pool` of keep-alive connections: the
 * gateway's upstream hop. It speaks the same protocol as the SDK's
 * `StreamableHTTPClientTransport` (JSON or SSE answers to POST, `Mcp-Session-Id`,
 * `Mcp-Protocol-Version`, a GET stream for server messages, resumption with `Last-Event-ID`,
 * DELETE to end the session) but without fetch: the fetch-based one costs the gateway several
 * times the CPU of the server it calls, and undici's own request API about half of what
 * `node:http` does per call (measured: bench/RESULTS.md). Servers that only speak the old
 * HTTP+SSE transport get the SDK's `SSEClientTransport`, chosen on the first POST as the
 * platform's own client does.
 *
 * For the relay (RelatingUpstream): a message that came on a POST's stream carries that
 * request's id as `relatedRequestId`, and `onresponsestream` says when a request is answered
 * with a stream. The GET stream is open before `notifications/initialized` goes out, so a
 * server that speaks as soon as it is initialized is heard.
 */
export class NodeStreamableHttpClientTransport implements Transport, RelatingUpstream {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: RelatedMessageExtra) => void;
  onresponsestream?: (requestId: RequestId) => void;
  sessionId?: string;

  private protocolVersion?: string;
  /** Ends whatever this session still has in flight (its GET stream, pending POSTs) on close. */
  private readonly aborter = new AbortController();
  private closed = false;
  private started = false;
  private fallback?: SSEClientTransport;
  private decided = false;
  private getStream?: Promise<void>;
  /** The reconnection delay the server asked for. */
  private retryMs = DEFAULT_RETRY_MS;
  private readonly path: string;

  constructor(
    private readonly url: URL,
    private readonly options: NodeStreamableHttpOptions,
  ) {
    this.path = url.pathname + url.search;
  }

  /** The legacy HTTP+SSE transport has a single stream: it cannot tell. */
  get relatesMessages(): boolean {
    return !this.fallback;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('NodeStreamableHttpClientTransport already started');
    this.started = true;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.fallback?.setProtocolVersion?.(version);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('Not connected');
    if (this.fallback) return this.fallback.send(message);
    const initialized = 'method' in message && message.method === 'notifications/initialized';
    if (initialized && this.sessionId) await this.openGetStream();
    const body = JSON.stringify(message);
    const response = await this.request('POST', body, 'application/json, text/event-stream');
    const status = response.statusCode;
    if (status < 200 || status >= 300) {
      const text = await response.body.text().catch(() => '');
      if (!this.decided && meansNoStreamableHttp(status)) {
        const sse = await this.switchToSse();
        return sse.send(message);
      }
      throw new McpHttpStatusError(status, `MCP server answered HTTP ${status}: ${text.slice(0, 300)}`);
    }
    this.decided = true;
    const sessionId = response.headers['mcp-session-id'];
    if (typeof sessionId === 'string' && sessionId) this.sessionId = sessionId;
    if (status === 202) {
      response.body.resume();
      // A server without sessions: its GET stream could only be opened now.
      if (initialized) void this.openGetStream();
      return;
    }
    const awaited = 'method' in message && 'id' in message ? message.id : undefined;
    const contentType = String(response.headers['content-type'] ?? '');
    if (contentType.includes('text/event-stream')) {
      if (awaited !== undefined) this.onresponsestream?.(awaited);
      // Like the SDK's transport: send() resolves once the stream is open; messages follow.
      void this.consumeRequestStream(response, awaited);
      return;
    }
    const text = await response.body.text();
    if (!text.trim()) return;
    const parsed: unknown = JSON.parse(text);
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) this.deliver(item);
  }

  /** Ends the server-side session (DELETE); a server that does not allow it (405) is fine. */
  async terminateSession(): Promise<void> {
    if (this.fallback || !this.sessionId || this.closed) return;
    const response = await this.request('DELETE', undefined, 'application/json, text/event-stream');
    response.body.resume();
    const status = response.statusCode;
    if ((status < 200 || status >= 300) && status !== 405 && status !== 404) {
      throw new McpHttpStatusError(status, `MCP server refused to end the session: HTTP ${status}`);
    }
    this.sessionId = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    await this.fallback?.close().catch(() => {});
    this.onclose?.();
  }

  private async request(
    method: 'POST' | 'GET' | 'DELETE',
    body: string | undefined,
    accept: string,
    lastEventId?: string,
  ): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...this.options.headers, accept };
    if (this.sessionId) headers['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    try {
      return await this.options.pool.request({ path: this.path, method, headers, body, signal: this.aborter.signal });
    } catch (error) {
      throw new Error(`${method} ${redactUrl(this.url)} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private deliver(raw: unknown, relatedRequestId?: RequestId): RequestId | undefined {
    const message = toJsonRpcMessage(raw);
    if (!message) {
      this.onerror?.(new Error('MCP server sent something that is not a JSON-RPC message'));
      return undefined;
    }
    this.onmessage?.(message, relatedRequestId === undefined ? undefined : { relatedRequestId });
    return 'id' in message && !('method' in message) ? message.id : undefined;
  }

  /**
   * Reads one SSE response, delivering its messages (related to `relatedRequestId`, if any).
   * Returns the id of the last event that carried one, and whether the answer came.
   */
  private async consumeSse(
    response: UpstreamResponse,
    relatedRequestId: RequestId | undefined,
    lastEventId: string | undefined,
  ): Promise<{ lastEventId: string | undefined; answered: boolean }> {
    let answered = false;
    let last = lastEventId;
    await readSse(response.body, (event) => {
      if (event.id !== undefined) last = event.id;
      if (event.retry !== undefined) this.retryMs = event.retry;
      // A priming event (SEP-1699): an id to resume from, nothing to deliver.
      if (!event.data) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        this.onerror?.(new Error('MCP server sent an SSE event that is not JSON'));
        return;
      }
      if (this.deliver(parsed, relatedRequestId) === relatedRequestId && relatedRequestId !== undefined)
        answered = true;
    });
    return { lastEventId: last, answered };
  }

  /**
   * A POST's SSE stream. If it ends before the answer, it is resumed with `Last-Event-ID` when
   * the server gave event ids (a server may close a stream early and expect the client to poll,
   * SEP-1699); otherwise, or if resuming fails, the request gets an error answer now rather than
   * a timeout later.
   */
  private async consumeRequestStream(response: UpstreamResponse, awaited: RequestId | undefined): Promise<void> {
    let state = { lastEventId: undefined as string | undefined, answered: false };
    try {
      state = await this.consumeSse(response, awaited, undefined);
      for (let attempt = 0; !state.answered && state.lastEventId && attempt < MAX_RESUMES && !this.closed; attempt++) {
        await delay(this.retryMs);
        if (this.closed) return;
        const resumed = await this.request('GET', undefined, 'text/event-stream', state.lastEventId);
        if (resumed.statusCode < 200 || resumed.statusCode >= 300) {
          resumed.body.resume();
          throw new McpHttpStatusError(resumed.statusCode, `Failed to resume the stream: HTTP ${resumed.statusCode}`);
        }
        state = await this.consumeSse(resumed, awaited, state.lastEventId);
      }
    } catch (error) {
      if (this.closed) return;
      this.onerror?.(error as Error);
    }
    if (this.closed || state.answered || awaited === undefined) return;
    this.onmessage?.({
      jsonrpc: '2.0',
      id: awaited,
      error: { code: -32000, message: 'The MCP server closed the response stream before answering' },
    });
  }

  /**
   * Opens the session's GET stream for server-initiated messages (kept open, and resumed from
   * its last event id, while the session lives). Resolves once the first attempt has its
   * answer, or after OPEN_WAIT_MS.
   */
  private openGetStream(): Promise<void> {
    if (this.getStream) return this.getStream;
    let opened!: () => void;
    this.getStream = new Promise<void>((resolve) => {
      opened = resolve;
      setTimeout(resolve, GET_STREAM_OPEN_WAIT_MS).unref();
    });
    const run = async (): Promise<void> => {
      let lastEventId: string | undefined;
      let refusals = 0;
      while (!this.closed) {
        let response: UpstreamResponse;
        try {
          response = await this.request('GET', undefined, 'text/event-stream', lastEventId);
        } catch (error) {
          opened();
          if (this.closed) return;
          this.onerror?.(error as Error);
          await delay(GET_STREAM_RETRY_MS);
          continue;
        }
        opened();
        const status = response.statusCode;
        if (status === 405) {
          response.body.resume();
          return; // The server offers no GET stream.
        }
        if (status < 200 || status >= 300) {
          response.body.resume();
          // Once more after a while: a server may want `notifications/initialized` first.
          if (++refusals > 1) {
            this.onerror?.(new McpHttpStatusError(status, `Failed to open the SSE stream: HTTP ${status}`));
            return;
          }
          await delay(GET_STREAM_REFUSED_RETRY_MS);
          continue;
        }
        refusals = 0;
        const state = await this.consumeSse(response, undefined, lastEventId).catch(() => ({
          lastEventId,
          answered: false,
        }));
        lastEventId = state.lastEventId;
        if (!this.closed) await delay(this.retryMs);
      }
    };
    void run();
    return this.getStream;
  }

  private async switchToSse(): Promise<SSEClientTransport> {
    const sse = new SSEClientTransport(this.url, { requestInit: { headers: this.options.headers } });
    sse.onmessage = (message) => this.onmessage?.(message);
    sse.onerror = (error) => this.onerror?.(error);
    sse.onclose = () => void this.close();
    this.fallback = sse;
    this.decided = true;
    await sse.start();
    if (this.protocolVersion) sse.setProtocolVersion?.(this.protocolVersion);
    return sse;
  }
}
