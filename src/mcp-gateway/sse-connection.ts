const utf8 = new TextEncoder();

/**
 * No `Connection` header: HTTP/1.1 keeps the connection anyway, and one set here would stop
 * Node from announcing how long it keeps an idle connection (`Keep-Alive: timeout=…`). Clients
 * that are told close idle connections well before the server does; untold, undici waits 4 s
 * against Node's 5, and a client busy for the last second of that reuses a connection the server
 * is closing: its POST fails with "fetch failed".
 */
export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

export interface SseConnectionOptions {
  headers?: Record<string, string>;
  /** A comment line this often while the response is open, so proxies do not time it out. */
  keepAliveMs: number;
  /** Bytes written but not yet taken by the client's connection; beyond that the response is dropped. */
  maxQueuedBytes: number;
  /**
   * Hand the response out after this long even if nothing was written (an upstream that keeps
   * quiet must not leave the client without response headers). Default: at the first write.
   */
  openAfterMs?: number;
  /** The client went away, or a slow reader was dropped. Not called after `end()`. */
  onLost?(): void;
}

/**
 * The body of one Server-Sent Events response. Its `Response` is made when the first event is
 * written (or on `open()`), so an answer that is ready at once goes out with the headers in one
 * write, the way a JSON answer does; what the client receives is the same stream either way.
 * A client that stops reading is dropped once `maxQueuedBytes` wait for it: its events stay in
 * the session's log for it to resume from.
 */
export class SseConnection {
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private pending: string[] = [];
  private resolveResponse!: (response: Response) => void;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  private lost = false;
  private opening = false;
  private opened = false;
  readonly response: Promise<Response>;

  constructor(private readonly options: SseConnectionOptions) {
    this.response = new Promise((resolve) => {
      this.resolveResponse = resolve;
    });
    if (options.openAfterMs !== undefined) {
      this.openTimer = setTimeout(() => this.open(), options.openAfterMs);
      (this.openTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Whether written events can still reach the client. */
  get live(): boolean {
    return !this.ended && !this.lost;
  }

  /** Hands out the response now, even with nothing written yet. */
  open(): void {
    if (this.opened || this.lost) return;
    this.opened = true;
    clearTimeout(this.openTimer);
    const pending = this.pending.join('');
    this.pending = [];
    const headers = { ...SSE_HEADERS, ...this.options.headers };
    if (this.ended) {
      // All of it is known: the same bytes as a whole body, the runtime's cheapest response.
      this.resolveResponse(new Response(pending, { status: 200, headers }));
      return;
    }
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          if (pending) controller.enqueue(utf8.encode(pending));
        },
        cancel: () => this.dropped(),
      },
      { highWaterMark: this.options.maxQueuedBytes, size: (chunk) => chunk.byteLength },
    );
    this.keepAlive = setInterval(() => this.write(': keepalive\n\n'), this.options.keepAliveMs);
    (this.keepAlive as { unref?: () => void }).unref?.();
    this.resolveResponse(new Response(body, { status: 200, headers }));
  }

  /**
   * Writes text (whole SSE events); false when the client can no longer get it. `hold`: before
   * the response is out, keep the text for the first write instead of sending it on its own.
   */
  write(text: string, hold = false): boolean {
    if (!this.live) return false;
    const controller = this.controller;
    if (!controller) {
      // Gathered until the end of this turn: an answer written right after goes in the same write.
      if (!hold && !this.opening) {
        this.opening = true;
        queueMicrotask(() => this.open());
      }
      this.pending.push(text);
      return true;
    }
    try {
      controller.enqueue(utf8.encode(text));
    } catch {
      this.dropped();
      return false;
    }
    if ((controller.desiredSize ?? 0) < 0) {
      controller.error(new Error('The client is not reading its event stream'));
      this.dropped();
      return false;
    }
    return true;
  }

  /** Ends the response once what was written has gone out. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    if (this.lost) return;
    if (!this.opened) {
      this.open();
      return;
    }
    try {
      this.controller?.close();
    } catch {
      // already closed by the client
    }
  }

  private dropped(): void {
    if (this.lost || this.ended) return;
    this.lost = true;
    clearInterval(this.keepAlive);
    clearTimeout(this.openTimer);
    this.options.onLost?.();
  }
}
