import { WebSocket } from 'ws';

export interface Frame {
  event: string;
  channel: string;
  payload: Record<string, unknown>;
}

/** How long a test waits for a frame or a close by default (the edge suite's tests get 30 s). */
const WAIT_MS = 15_000;

/** A /ws client that records every frame and waits for the ones a test expects. */
export class WsClient {
  readonly frames: Frame[] = [];
  closed?: { code: number; reason: string };
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string, token: string): Promise<WsClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * The first recorded frame (from `from` on) that matches, waiting up to `timeoutMs`: a bound
   * for a frame that never comes, well above what a loaded machine takes to deliver one.
   */
  async next(match: (frame: Frame) => boolean, timeoutMs = WAIT_MS, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async subscribe(channel: string): Promise<void> {
    const from = this.frames.length;
    this.send({ event: 'subscribe', channel });
    await this.next(
      (f) => (f.event === 'subscribed' || f.event === 'error') && f.channel === channel,
      WAIT_MS,
      from,
    ).then((f) => {
      if (f.event === 'error') throw new Error(`subscribe ${channel} refused: ${JSON.stringify(f.payload)}`);
    });
  }

  async waitClosed(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.closed) throw new Error('socket still open');
    return this.closed;
  }

  /**
   * The close frame the server sent, as soon as it arrives. workerd (through Miniflare's proxy)
   * ends the TCP connection seconds after the closing handshake, so the public `close` event
   * comes late; `ws` records the frame in these (private) fields at once.
   */
  async serverClose(timeoutMs = WAIT_MS): Promise<{ code: number }> {
    const raw = this.ws as unknown as { _closeFrameReceived?: boolean; _closeCode?: number };
    const deadline = Date.now() + timeoutMs;
    while (!raw._closeFrameReceived && !this.closed && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    if (this.closed) return this.closed;
    if (!raw._closeFrameReceived) throw new Error('no close frame from the server');
    return { code: raw._closeCode ?? 0 };
  }

  close(): void {
    this.ws.close();
  }
}

/** The HTTP answer to an upgrade the server refused (status and JSON body). */
export function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers });
    ws.once('open', () => {
      ws.close();
      reject(new Error('upgrade was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', () => {});
  });
}
