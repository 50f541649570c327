import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describeError } from './describe-error';
import { McpRequestTimeoutError, McpUnavailableError } from './errors';
import { settleWithin } from './settle-within';
import type { CallToolRequest, McpConnector, McpTool, McpToolClient } from './tool-client';

export interface ReconnectingMcpClientOptions {
  /** Sent in `initialize`. */
  clientInfo?: { name: string; version: string };
  /** Per-request timeout unless a call sets its own. Default 30 s. */
  requestTimeoutMs?: number;
  /** Timeout of the `initialize` handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Names the server in errors; default: the connector's label. */
  label?: string;
  /** Out-of-band transport errors (a dropped SSE stream...), for logging; calls report their own failures. */
  onTransportError?: (error: Error) => void;
  /** Passed to the SDK `Client`, e.g. a `jsonSchemaValidator` that works on the edge. */
  clientOptions?: ClientOptions;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const MAX_TOOL_PAGES = 100;



/** The SDK's own timeout (it carries `{timeout}`), as opposed to a server's -32001 error. */
function isLocalTimeout(error: McpError): boolean {
  const data = error.data as { timeout?: unknown } | undefined;
  return error.code === ErrorCode.RequestTimeout && typeof data?.timeout === 'number';
}

// Socket failures before any response: typically a pooled keep-alive connection the
// server had already closed (undici does not retry POSTs on those, browsers do).
const STALE_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE']);

/**
 * Failures after which sending the request once more, on a new session, is expected to
 * succeed without running a tool twice: no live transport ("Not connected"), an HTTP
 * server that no longer knows our session (it restarted) and answered 404, or a stale
 * pooled connection. The last one can, rarely, hide a server that died mid-call; tool
 * calls are at-least-once anyway (the platform passes run and step ids in `_meta`).
 */
function isWorthOneRetry(error: unknown): boolean {
  if (error instanceof McpUnavailableError) return isWorthOneRetry(error.cause);
  if (error instanceof StreamableHTTPError) return error.code === 404;
  if (!(error instanceof Error)) return false;
  if (error.message === 'Not connected') return true;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return error.message === 'fetch failed' && typeof code === 'string' && STALE_CONNECTION_CODES.has(code);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

class ReconnectingMcpClient implements McpToolClient {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private closed = false;
  // A client that failed is retired: new calls go to a fresh session at once, but it is
  // closed only when its other in-flight calls are done, so they can still get answers.
  private readonly activeCalls = new WeakMap<Client, number>();
  private readonly retired = new Set<Client>();
  private readonly label: string;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly connect: McpConnector,
    private readonly options: ReconnectingMcpClientOptions,
  ) {
    this.label = options.label ?? connect.label ?? 'MCP server';
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  async listTools(): Promise<McpTool[]> {
    return this.withSession('tools/list', this.requestTimeoutMs, undefined, async (client) => {
      const tools: McpTool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_TOOL_PAGES; page++) {
        const result = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.requestTimeoutMs });
        tools.push(...result.tools);
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      return tools;
    });
  }

  async callTool(request: CallToolRequest): Promise<CallToolResult> {
    const timeoutMs = request.timeoutMs ?? this.requestTimeoutMs;
    const { signal } = request;
    return this.withSession('tools/call', timeoutMs, signal, async (client) => {
      const result = await client.callTool(
        { name: request.name, arguments: request.arguments, ...(request.meta && { _meta: request.meta }) },
        undefined,
        { timeout: timeoutMs, signal },
      );
      // With the default result schema the SDK returns a CallToolResult; its type also
      // admits the pre-2024-11 `{toolResult}` shape, which it only produces on request.
      return result as CallToolResult;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const retired = [...this.retired];
    this.retired.clear();
    await Promise.all(retired.map((client) => client.close().catch(() => {})));
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    if (!client) return;
    const transport = client.transport as { terminateSession?: () => Promise<void> } | undefined;
    // Tell a Streamable HTTP server to drop our session now rather than at its idle timeout.
    if (transport?.terminateSession) await settleWithin(transport.terminateSession(), 1000);
    await client.close().catch(() => {});
  }

  private async withSession<T>(
    method: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    run: (client: Client) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      let client: Client;
      try {
        client = await abortable(this.session(), signal);
      } catch (error) {
        // Connecting runs no tool, so a stale-connection failure is simply tried again.
        if (attempt === 1 && !signal?.aborted && isWorthOneRetry(error)) continue;
        throw error;
      }
      try {
        return await this.runOn(client, run);
      } catch (error) {
        // The SDK reports an abort as a RequestTimeout McpError; give the caller its own reason.
        if (signal?.aborted) throw signal.reason;
        if (error instanceof McpError) {
          if (isLocalTimeout(error)) throw new McpRequestTimeoutError(method, timeoutMs, { cause: error });
          // The SDK fails pending requests with ConnectionClosed when the transport closes.
          if (!(error.code === ErrorCode.ConnectionClosed && !client.transport)) throw error;
        } else if (error instanceof Error && error.name === 'ZodError') {
          throw error; // a malformed answer: the connection itself is fine
        }
        this.retire(client);
        if (attempt === 1 && isWorthOneRetry(error)) continue;
        throw new McpUnavailableError(`${this.label} is unavailable (${method}): ${describeError(error)}`, {
          cause: error,
        });
      }
    }
  }

  /** The live client, connecting first if needed; concurrent callers share one connect. */
  private session(): Promise<Client> {
    if (this.closed) return Promise.reject(new McpUnavailableError('MCP client is closed'));
    // `transport` is cleared by the SDK when the connection closes.
    if (this.client?.transport) return Promise.resolve(this.client);
    this.client = undefined;
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const client = new Client(this.options.clientInfo ?? { name: 'workflow-platform', version: '0.1.0' }, {
      ...this.options.clientOptions,
    });
    client.onerror = (error) => this.options.onTransportError?.(error);
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
    };
    try {
      const transport = await this.connect();
      await client.connect(transport, { timeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
    } catch (error) {
      await client.close().catch(() => {});
      throw new McpUnavailableError(`Cannot connect to ${this.label}: ${describeError(error)}`, { cause: error });
    }
    if (this.closed) {
      await client.close().catch(() => {});
      throw new McpUnavailableError('MCP client is closed');
    }
    this.client = client;
    return client;
  }

  private async runOn<T>(client: Client, run: (client: Client) => Promise<T>): Promise<T> {
    this.activeCalls.set(client, (this.activeCalls.get(client) ?? 0) + 1);
    try {
      return await run(client);
    } finally {
      const left = (this.activeCalls.get(client) ?? 1) - 1;
      this.activeCalls.set(client, left);
      if (left === 0 && this.retired.delete(client)) void client.close().catch(() => {});
    }
  }

  private retire(client: Client): void {
    if (this.client === client) this.client = undefined;
    if (this.activeCalls.get(client)) this.retired.add(client);
    else void client.close().catch(() => {});
  }
}

/**
 * One long-lived MCP session per process: connects on first use, shares an in-flight
 * connect between concurrent callers, and after the connection drops connects again on
 * the next call. A call that fails because the server lost our session is retried once
 * on a fresh one; other connection failures reject with `McpUnavailableError` (no
 * automatic retry: a tool call may not be safe to repeat; the caller decides).
 */
export function createReconnectingMcpClient(
  connect: McpConnector,
  options: ReconnectingMcpClientOptions = {},
): McpToolClient {
  return new ReconnectingMcpClient(connect, options);
}
