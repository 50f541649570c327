import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  LATEST_PROTOCOL_VERSION,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { describeError } from '../mcp/describe-error';
import { settleWithin } from '../mcp/settle-within';
import { withTimeout } from '../with-timeout';
import type { ToolCallOutcome } from './gateway-stats';
import {
  isErrorMessage,
  isNotificationMessage,
  isRecord,
  isRequestMessage,
  isResultMessage,
  progressTokenOf,
  RpcErrorCode,
  rpcError,
} from './json-rpc';
import { type RelatingUpstream, relatedRequestIdOf, type StreamingClient } from './stream-relations';
import type { ToolPolicy } from './tool-policy';

/** Why a relayed session ended. */
export type RelayCloseReason =
  | 'client_closed'
  | 'upstream_closed'
  | 'idle'
  | 'retired'
  | 'token_expired'
  | 'shutdown'
  | 'done';

export interface McpRelayOptions {
  /** The client-facing side: a server transport (Streamable HTTP, WebSocket). */
  client: Transport;
  /** A fresh, unstarted transport to the upstream MCP server, used by this session only. */
  upstream: Transport;
  /** The authenticated user: written into every request's `params._meta.userId`. */
  userId: string;
  policy: ToolPolicy;
  /** How long a request waits for the upstream's answer before the client gets a timeout error. */
  requestTimeoutMs: number;
  /** For a stateless request: initialize the upstream session on the client's behalf before forwarding. */
  handshake?: boolean;
  /**
   * The client cannot answer requests from the server (a stateless request: there is no
   * session to answer on). The upstream's requests are then refused at once with this message,
   * instead of waiting for an answer that cannot come.
   */
  refuseServerRequests?: string;
  /**
   * Answer a request the client cancels with an error. MCP says not to answer cancelled
   * requests, but over Streamable HTTP with JSON answers the request's POST stays open until
   * it gets one (the SDK client ignores answers to requests it cancelled).
   */
  answersCancelledRequests?: boolean;
  onToolCall?(call: { tool: string; outcome: ToolCallOutcome; durationMs: number }): void;
  /** Any message either way (the session is not idle). */
  onActivity?(): void;
  /** Out-of-band upstream transport errors (a dropped SSE stream...), for logging. */
  onUpstreamError?(error: Error): void;
  onClose?(reason: RelayCloseReason): void;
  /** How to close the client side when the session ends for another reason than the client leaving. Default `client.close()`. */
  closeClient?(reason: RelayCloseReason): Promise<void>;
  /** How long starting the upstream transport (connect, spawn) may take. Default 10 s. */
  startTimeoutMs?: number;
  /** Milliseconds, for durations. Default `performance.now()`. */
  now?: () => number;
}

interface PendingRequest {
  method: string;
  /** Set for `tools/call`: the call is timed, logged and counted. */
  tool?: string;
  startedMs: number;
  timer: ReturnType<typeof setTimeout>;
  progressToken?: string | number;
}

interface Handshake {
  id: string;
  resolve(message: JSONRPCMessage): void;
  reject(error: Error): void;
}

const GATEWAY_CLIENT_INFO = { name: 'workflow-platform-mcp-gateway', version: '0.1.0' };
const TERMINATE_WAIT_MS = 1000;
const DEFAULT_START_TIMEOUT_MS = 10_000;

const CLOSE_MESSAGES: Record<RelayCloseReason, string> = {
  client_closed: 'The client closed the session',
  upstream_closed: 'The MCP server closed the session',
  idle: 'The MCP session expired after being idle',
  retired: 'The MCP session was closed to make room for another one',
  token_expired: 'The access token the session was opened with has expired',
  shutdown: 'The gateway is shutting down',
  done: 'The MCP session has ended',
};

/** Writes the authenticated user over whatever the client put in `_meta.userId` (the built-in server scopes notes by it). */
function withUser<T extends JSONRPCRequest | JSONRPCNotification>(message: T, userId: string): T {
  const params = isRecord(message.params) ? message.params : undefined;
  if (!params && message.method !== 'tools/call') return message;
  const meta = isRecord(params?._meta) ? params._meta : {};
  return { ...message, params: { ...params, _meta: { ...meta, userId } } };
}


/** The upstream no longer knows this session (HTTP 404) or the transport is gone: nothing more can go through. */
function isFatalSendError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (error as { code?: unknown }).code === 404 || error.message === 'Not connected';
}

/**
 * One MCP session through the gateway: pipes JSON-RPC messages between a client-facing
 * server transport and a dedicated upstream client transport, whatever either transport
 * is. Every method passes (resources, prompts, sampling, progress...), with these
 * exceptions: `tools/call` of a tool the policy does not allow is answered with an error
 * and never forwarded; `tools/list` results lose the tools it does not allow; every
 * request's `_meta.userId` is the authenticated user's id; a request the upstream does not
 * answer within `requestTimeoutMs` gets a timeout error (and is cancelled upstream). Ids
 * pass unchanged: each direction has its own id space and the upstream session is ours alone.
 *
 * When either side closes, the other is closed too; requests still waiting get an error.
 * Web APIs only.
 */
export class McpRelay {
  private readonly pending = new Map<RequestId, PendingRequest>();
  private readonly progress = new Map<string | number, RequestId>();
  private readonly now: () => number;
  private ready: Promise<void> = Promise.resolve();
  private handshake: Handshake | undefined;
  private closing: Promise<void> | undefined;
  private closeReason: RelayCloseReason | undefined;
  private initializeFailed = false;
  private handshakeFailed = false;

  constructor(private readonly options: McpRelayOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Requests waiting for the upstream's answer. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * The upstream session could not be initialized because the upstream could not be reached
   * (not: it answered `initialize` with an error): the client is told the service is unavailable.
   */
  get upstreamUnreachable(): boolean {
    return this.initializeFailed || this.handshakeFailed;
  }

  /**
   * Starts the upstream transport (connects, or spawns), then the client side. When the
   * upstream cannot be started in time it is closed and this rejects; the client side is
   * left untouched for the caller to answer.
   */
  async start(): Promise<void> {
    const { client, upstream } = this.options;
    upstream.onmessage = (message, extra) => this.fromUpstream(message, relatedRequestIdOf(extra));
    (upstream as RelatingUpstream).onresponsestream = (id) => {
      if (this.pending.has(id)) (client as StreamingClient).streamResponse?.(id);
    };
    upstream.onclose = () => void this.close('upstream_closed');
    upstream.onerror = (error) => this.options.onUpstreamError?.(error);
    try {
      const startTimeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
      await withTimeout(upstream.start(), startTimeoutMs, `connecting timed out after ${startTimeoutMs} ms`);
    } catch (error) {
      this.closing = Promise.resolve();
      upstream.onclose = undefined;
      await upstream.close().catch(() => {});
      throw error;
    }
    if (this.options.handshake) {
      this.ready = this.initializeUpstream();
      this.ready.catch((error: unknown) => {
        this.handshakeFailed = true;
        this.options.onUpstreamError?.(new Error(`initialize failed: ${describeError(error)}`));
      });
    }
    client.onmessage = (message) => this.fromClient(message);
    client.onclose = () => void this.close('client_closed');
    await client.start();
  }

  /**
   * Answers every request still waiting with an error, before the client side goes away by
   * the client's own doing (an HTTP DELETE): afterwards there would be nowhere to answer them,
   * and their HTTP requests would hang.
   */
  async answerPending(message: string): Promise<void> {
    const answers: Promise<void>[] = [];
    for (const [id, pending] of [...this.pending]) {
      this.finish(id, pending, 'cancelled');
      answers.push(this.toClient(rpcError(id, RpcErrorCode.ConnectionClosed, message)));
    }
    await Promise.all(answers);
  }

  /** Ends the session on both sides (idempotent); resolves once the upstream session is closed. */
  close(reason: RelayCloseReason): Promise<void> {
    this.closing ??= this.shutDown(reason);
    return this.closing;
  }

  private fromClient(message: JSONRPCMessage): void {
    this.options.onActivity?.();
    if (this.closed) {
      if (isRequestMessage(message)) {
        const why = CLOSE_MESSAGES[this.closeReason ?? 'done'];
        void this.toClient(rpcError(message.id, RpcErrorCode.ConnectionClosed, why));
      }
      return;
    }
    if (isRequestMessage(message)) {
      this.clientRequest(message);
      return;
    }
    if (!isNotificationMessage(message)) {
      // An answer to one of the upstream's requests.
      void this.toUpstream(message);
      return;
    }
    // MCP notifications all live under notifications/: anything else (a tools/call without
    // an id...) would reach the upstream past the allow-list, so it goes nowhere.
    if (!message.method.startsWith('notifications/')) return;
    if (message.method === 'notifications/cancelled') this.clientCancelled(message);
    if (message.method === 'notifications/initialized') {
      // Whatever the client sends next goes out after it: some servers speak as soon as they are initialized.
      const sent = this.toUpstream(message);
      this.ready = this.ready.then(() => sent);
      return;
    }
    void this.toUpstream(withUser(message, this.options.userId));
  }

  private clientCancelled(message: JSONRPCNotification): void {
    const requestId = isRecord(message.params) ? message.params.requestId : undefined;
    const cancelled = typeof requestId === 'string' || typeof requestId === 'number' ? requestId : undefined;
    const pending = cancelled === undefined ? undefined : this.pending.get(cancelled);
    if (!pending || cancelled === undefined) return;
    this.finish(cancelled, pending, 'cancelled');
    if (this.options.answersCancelledRequests) {
      void this.toClient(rpcError(cancelled, RpcErrorCode.RequestCancelled, 'Request cancelled'));
    }
  }

  private clientRequest(request: JSONRPCRequest): void {
    const { id, method } = request;
    if (this.pending.has(id)) {
      void this.toClient(
        rpcError(id, RpcErrorCode.InvalidRequest, `Request id ${JSON.stringify(id)} is already in use`),
      );
      return;
    }
    let tool: string | undefined;
    if (method === 'tools/call') {
      const name = isRecord(request.params) ? request.params.name : undefined;
      tool = typeof name === 'string' ? name : '(invalid)';
      if (typeof name === 'string' && !this.options.policy.isAllowed(name)) {
        this.options.onToolCall?.({ tool, outcome: 'refused', durationMs: 0 });
        void this.toClient(rpcError(id, RpcErrorCode.InvalidParams, `Tool "${name}" is not allowed`));
        return;
      }
    }
    const progressToken = progressTokenOf(request);
    this.pending.set(id, {
      method,
      tool,
      startedMs: this.now(),
      timer: setTimeout(() => this.timedOut(id), this.options.requestTimeoutMs),
      progressToken,
    });
    if (progressToken !== undefined) this.progress.set(progressToken, id);
    void this.toUpstream(withUser(request, this.options.userId), id);
  }

  private fromUpstream(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    this.options.onActivity?.();
    if (isResultMessage(message) || isErrorMessage(message)) {
      const id = message.id;
      if (id === undefined) {
        const text = isErrorMessage(message) ? message.error.message : 'unknown';
        this.options.onUpstreamError?.(new Error(`MCP server error without id: ${text}`));
        return;
      }
      if (this.handshake?.id === id) {
        this.handshake.resolve(message);
        return;
      }
      const pending = this.pending.get(id);
      // Already answered (timed out or cancelled): the client must not get a second answer.
      if (!pending) return;
      let answer: JSONRPCMessage = message;
      let outcome: ToolCallOutcome = 'error';
      if (isResultMessage(message)) {
        outcome = message.result.isError === true ? 'tool_error' : 'ok';
        if (pending.method === 'initialize') this.adoptProtocolVersion(message.result.protocolVersion);
        if (pending.method === 'tools/list') answer = this.allowedToolsOnly(message);
      }
      this.finish(id, pending, outcome);
      void this.toClient(answer);
      return;
    }
    if (isRequestMessage(message) && this.options.refuseServerRequests) {
      void this.toUpstream(rpcError(message.id, RpcErrorCode.MethodNotFound, this.options.refuseServerRequests));
      return;
    }
    void this.toClient(message, this.relatedRequest(message, relatedRequestId));
  }

  /**
   * The client's request a server message belongs to, so that it goes on that request's
   * stream: progress by its token; else what the upstream transport says, when it can tell
   * (Streamable HTTP: the stream it came on); else the one request in flight, if there is
   * exactly one (stdio, WebSocket and in-process upstreams do not say).
   */
  private relatedRequest(message: JSONRPCMessage, relatedRequestId: RequestId | undefined): RequestId | undefined {
    if (isNotificationMessage(message) && message.method === 'notifications/progress') {
      const token = isRecord(message.params) ? message.params.progressToken : undefined;
      const related = typeof token === 'string' || typeof token === 'number' ? this.progress.get(token) : undefined;
      const pending = related === undefined ? undefined : this.pending.get(related);
      // Progress shows the request is alive: its timeout starts again.
      if (pending && related !== undefined) {
        this.restartTimer(related, pending);
        return related;
      }
    }
    if (relatedRequestId !== undefined) return this.pending.has(relatedRequestId) ? relatedRequestId : undefined;
    if ((this.options.upstream as RelatingUpstream).relatesMessages) return undefined;
    return this.pending.size === 1 ? this.pending.keys().next().value : undefined;
  }

  private allowedToolsOnly(message: JSONRPCMessage & { result: Record<string, unknown> }): JSONRPCMessage {
    const tools = message.result.tools;
    if (!Array.isArray(tools) || !this.options.policy.allowed) return message;
    const allowed = tools.filter(
      (tool: unknown) => isRecord(tool) && typeof tool.name === 'string' && this.options.policy.isAllowed(tool.name),
    );
    return { ...message, result: { ...message.result, tools: allowed } };
  }

  private adoptProtocolVersion(version: unknown): void {
    // HTTP upstream transports send it as Mcp-Protocol-Version on every later request.
    if (typeof version === 'string') this.options.upstream.setProtocolVersion?.(version);
  }

  private timedOut(id: RequestId): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.finish(id, pending, 'timeout');
    const message = `The MCP server did not answer ${pending.method} within ${this.options.requestTimeoutMs} ms`;
    void this.toClient(rpcError(id, RpcErrorCode.RequestTimeout, message));
    if (pending.method !== 'initialize') {
      void this.toUpstream({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: 'timed out at the gateway' },
      });
    }
  }

  private restartTimer(id: RequestId, pending: PendingRequest): void {
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => this.timedOut(id), this.options.requestTimeoutMs);
  }

  /** Forgets a request; a tool call is reported to `onToolCall`, through `record` if given. */
  private finish(id: RequestId, pending: PendingRequest, outcome: ToolCallOutcome): void {
    clearTimeout(pending.timer);
    this.pending.delete(id);
    if (pending.progressToken !== undefined) this.progress.delete(pending.progressToken);
    const { onToolCall } = this.options;
    if (pending.tool !== undefined && onToolCall) {
      const call = { tool: pending.tool, outcome, durationMs: Math.round((this.now() - pending.startedMs) * 10) / 10 };
      onToolCall(call);
    }
  }

  /** Forwards in arrival order; a request that cannot be sent is answered with an error. */
  private async toUpstream(message: JSONRPCMessage, requestId?: RequestId): Promise<void> {
    try {
      await this.ready;
      await this.options.upstream.send(message);
    } catch (error) {
      // Where the upstream is and what it said is for the log, not for the client.
      this.options.onUpstreamError?.(new Error(`sending failed: ${describeError(error)}`));
      const pending = requestId === undefined ? undefined : this.pending.get(requestId);
      if (pending) {
        if (pending.method === 'initialize') this.initializeFailed = true;
        this.finish(requestId as RequestId, pending, 'unavailable');
        const text = 'The MCP server is unavailable';
        await this.toClient(rpcError(requestId as RequestId, RpcErrorCode.ConnectionClosed, text));
      }
      // Without a working initialize (ours or the client's) the session can never work.
      if (this.options.handshake || pending?.method === 'initialize' || isFatalSendError(error)) {
        void this.close('upstream_closed');
      }
    }
  }

  private async toClient(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void> {
    const { client } = this.options;
    try {
      await client.send(message, relatedRequestId === undefined ? undefined : { relatedRequestId });
    } catch {
      // The related request's stream is gone: the session's own stream may still take it.
      if (relatedRequestId !== undefined) await client.send(message).catch(() => {});
    }
  }

  private async initializeUpstream(): Promise<void> {
    const id = `gateway-initialize-${crypto.randomUUID()}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<JSONRPCMessage>((resolve, reject) => {
      this.handshake = { id, resolve, reject };
      timer = setTimeout(
        () => reject(new Error(`no initialize answer within ${this.options.requestTimeoutMs} ms`)),
        this.options.requestTimeoutMs,
      );
    });
    try {
      await this.options.upstream.send({
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: GATEWAY_CLIENT_INFO },
      });
      const response = await answer;
      if (isErrorMessage(response)) throw new Error(response.error.message);
      if (isResultMessage(response)) this.adoptProtocolVersion(response.result.protocolVersion);
      await this.options.upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    } finally {
      clearTimeout(timer);
      this.handshake = undefined;
    }
  }

  private async shutDown(reason: RelayCloseReason): Promise<void> {
    this.closeReason = reason;
    const { client, upstream } = this.options;
    const clientLeft = reason === 'client_closed';
    this.handshake?.reject(new Error(CLOSE_MESSAGES[reason]));
    const answers: Promise<void>[] = [];
    for (const [id, pending] of [...this.pending]) {
      this.finish(id, pending, clientLeft ? 'cancelled' : 'unavailable');
      if (!clientLeft) answers.push(this.toClient(rpcError(id, RpcErrorCode.ConnectionClosed, CLOSE_MESSAGES[reason])));
    }
    await Promise.all(answers);
    if (!clientLeft) await (this.options.closeClient?.(reason) ?? client.close()).catch(() => {});
    if (reason !== 'upstream_closed') {
      // A Streamable HTTP upstream keeps a session until told (DELETE) or until its own idle timeout.
      const terminate = (upstream as { terminateSession?: () => Promise<void> }).terminateSession;
      if (terminate) await settleWithin(terminate.call(upstream), TERMINATE_WAIT_MS);
    }
    await upstream.close().catch(() => {});
    this.options.onClose?.(reason);
  }
}
