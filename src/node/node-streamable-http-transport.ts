import type { Readable } from 'node:stream';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import { redactUrl } from '../config/redact-url';
import { toJsonRpcMessage } from '../mcp-gateway/json-rpc';

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

// The same rule as src/mcp/streamable-http-with-sse-fallback.ts: a 4xx other than these
// to the first POST means an old HTTP+SSE-only server (it has no POST route there).
function meansNoStreamableHttp(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 429].includes(status);
}

/**
 * Calls `onEvent(data)` for each Server-Sent Event's data as it arrives on `body`
 * (`event:` other than `message` and `id:` are ignored; comments are keep-alives).
 * Resolves when the stream ends; rejects if the connection fails first.
 */
function readSse(body: Readable, onEvent: (data: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let data: string[] = [];
    let event = 'message';
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.search(/\r\n|\r|\n/); end !== -1; end = buffer.search(/\r\n|\r|\n/)) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer.startsWith('\r\n', end) ? end + 2 : end + 1);
        if (line === '') {
          if (data.length > 0 && event === 'message') onEvent(data.join('\n'));
          data = [];
          event = 'message';
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        } else if (line.startsWith('event:')) {
          event = line.slice(6).trim();
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
 * `Mcp-Protocol-Version`, a GET stream for server messages, DELETE to end the session) but
 * without fetch: the fetch-based one costs the gateway several times the CPU of the server it
 * calls, and undici's own request API about half of what `node:http` does per call (measured:
 * bench/RESULTS.md). Servers that only speak the old HTTP+SSE transport get the SDK's
 * `SSEClientTransport`, chosen on the first POST as the platform's own client does.
 */
export class NodeStreamableHttpClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  sessionId?: string;

  private protocolVersion?: string;
  /** Ends whatever this session still has in flight (its GET stream, pending POSTs) on close. */
  private readonly aborter = new AbortController();
  private closed = false;
  private started = false;
  private fallback?: SSEClientTransport;
  private decided = false;
  private readonly path: string;

  constructor(
    private readonly url: URL,
    private readonly options: NodeStreamableHttpOptions,
  ) {
    this.path = url.pathname + url.search;
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
      if ('method' in message && message.method === 'notifications/initialized') this.openGetStream();
      return;
    }
    const awaited = 'method' in message && 'id' in message ? [message.id] : [];
    const contentType = String(response.headers['content-type'] ?? '');
    if (contentType.includes('text/event-stream')) {
      // Like the SDK's transport: send() resolves once the stream is open; messages follow.
      void this.consumeSse(response, awaited);
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
  ): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...this.options.headers, accept };
    if (this.sessionId) headers['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.options.pool.request({ path: this.path, method, headers, body, signal: this.aborter.signal });
    } catch (error) {
      throw new Error(`${method} ${redactUrl(this.url)} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private deliver(raw: unknown): RequestId | undefined {
    const message = toJsonRpcMessage(raw);
    if (!message) {
      this.onerror?.(new Error('MCP server sent something that is not a JSON-RPC message'));
      return undefined;
    }
    this.onmessage?.(message);
    return 'id' in message && !('method' in message) ? message.id : undefined;
  }

  /**
   * A POST's SSE stream. If it ends before answering the request it carried, the request
   * gets an error answer now rather than a timeout later (this transport does not resume streams).
   */
  private async consumeSse(response: UpstreamResponse, awaited: RequestId[]): Promise<void> {
    const answered = new Set<RequestId>();
    try {
      await readSse(response.body, (data) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          this.onerror?.(new Error('MCP server sent an SSE event that is not JSON'));
          return;
        }
        const id = this.deliver(parsed);
        if (id !== undefined) answered.add(id);
      });
    } catch (error) {
      if (this.closed) return;
      this.onerror?.(error as Error);
    }
    if (this.closed) return;
    for (const id of awaited) {
      if (answered.has(id)) continue;
      this.onmessage?.({
        jsonrpc: '2.0',
        id,
        error: { code: -32000, message: 'The MCP server closed the response stream before answering' },
      });
    }
  }

  /** The session's GET stream for server-initiated messages; reopened while the session lives. */
  private openGetStream(): void {
    const open = async (): Promise<void> => {
      while (!this.closed) {
        let response: UpstreamResponse;
        try {
          response = await this.request('GET', undefined, 'text/event-stream');
        } catch (error) {
          if (this.closed) return;
          this.onerror?.(error as Error);
          await new Promise((resolve) => setTimeout(resolve, GET_STREAM_RETRY_MS));
          continue;
        }
        const status = response.statusCode;
        if (status === 405) {
          response.body.resume();
          return; // The server offers no GET stream.
        }
        if (status < 200 || status >= 300) {
          response.body.resume();
          this.onerror?.(new McpHttpStatusError(status, `Failed to open the SSE stream: HTTP ${status}`));
          return;
        }
        await readSse(response.body, (data) => {
          try {
            this.deliver(JSON.parse(data));
          } catch {
            this.onerror?.(new Error('MCP server sent an SSE event that is not JSON'));
          }
        }).catch(() => {});
        if (!this.closed) await new Promise((resolve) => setTimeout(resolve, GET_STREAM_RETRY_MS));
      }
    };
    void open();
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
