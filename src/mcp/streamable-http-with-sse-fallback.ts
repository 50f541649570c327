import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';

/**
 * An HTTP(S) server that answers the first POST with one of these speaks only the old
 * HTTP+SSE transport (it has no POST route there). 401/403/429 are about credentials or
 * load, not the transport, so they are reported as they are.
 */
function meansNoStreamableHttp(error: unknown): boolean {
  return (
    error instanceof StreamableHTTPError &&
    error.code !== undefined &&
    error.code >= 400 &&
    error.code < 500 &&
    ![401, 403, 429].includes(error.code)
  );
}

/**
 * Streamable HTTP, falling back to the deprecated HTTP+SSE transport when the server
 * rejects the first POST (the `initialize` request) with a 4xx: the backwards-compatible
 * client pattern of the MCP spec, inside one `Transport` so that a connector stays a plain
 * `() => Promise<Transport>`. The choice is made once, on the first message.
 */
export class StreamableHttpWithSseFallbackTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private active: Transport;
  private decided = false;
  private protocolVersion: string | undefined;

  constructor(
    private readonly url: URL,
    private readonly requestInit?: RequestInit,
  ) {
    this.active = this.adopt(new StreamableHTTPClientTransport(url, { requestInit }));
  }

  get sessionId(): string | undefined {
    return this.active.sessionId;
  }

  /** Which transport won; undefined until the first message was sent. */
  get kind(): 'streamable-http' | 'sse' | undefined {
    if (!this.decided) return undefined;
    return this.active instanceof SSEClientTransport ? 'sse' : 'streamable-http';
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.active.setProtocolVersion?.(version);
  }

  async start(): Promise<void> {
    await this.active.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.decided) return this.active.send(message, options);
    try {
      await this.active.send(message, options);
      this.decided = true;
    } catch (httpError) {
      if (!meansNoStreamableHttp(httpError)) throw httpError;
      await this.switchToSse(httpError);
      await this.active.send(message, options);
    }
  }

  async close(): Promise<void> {
    await this.active.close();
  }

  /** Ends the server-side session (Streamable HTTP only; SSE sessions end with the stream). */
  async terminateSession(): Promise<void> {
    if (this.active instanceof StreamableHTTPClientTransport) await this.active.terminateSession();
  }

  private async switchToSse(httpError: unknown): Promise<void> {
    const http = this.active;
    const sse = new SSEClientTransport(this.url, { requestInit: this.requestInit });
    this.active = this.adopt(sse);
    await http.close().catch(() => {});
    try {
      await sse.start();
    } catch (sseError) {
      const httpText = httpError instanceof Error ? httpError.message : String(httpError);
      const sseText = sseError instanceof Error ? sseError.message : String(sseError);
      throw new Error(`Streamable HTTP failed (${httpText}); SSE fallback failed too (${sseText})`, {
        cause: sseError,
      });
    }
    if (this.protocolVersion) sse.setProtocolVersion?.(this.protocolVersion);
    this.decided = true;
  }

  /** Routes an inner transport's callbacks to ours while it is the active one. */
  private adopt(inner: Transport): Transport {
    inner.onmessage = (message, extra) => {
      if (this.active === inner) this.onmessage?.(message, extra);
    };
    inner.onerror = (error) => {
      // The probe POST's failure is expected when falling back; the send() caller reports real failures.
      if (this.active === inner && this.decided) this.onerror?.(error);
    };
    inner.onclose = () => {
      if (this.active === inner) this.onclose?.();
    };
    return inner;
  }
}
