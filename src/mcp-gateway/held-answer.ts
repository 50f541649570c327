/**
 * The answer to one request a client POSTed, while the upstream works on it: plain JSON if the
 * answer comes first, or the request's own SSE stream once `stream()` is called (something
 * related to the request is on its way, or the upstream streams its answer).
 */
export interface HeldAnswer {
  /** What the POST is answered with. */
  readonly response: Promise<Response>;
  readonly streamed: boolean;
  /** Answers with this response (JSON), unless the answer is already streamed. */
  resolve(response: Response): void;
  /** Switches to a stream (idempotent). */
  stream(): void;
}

/** `openStream` opens the request's stream and resolves with its response. */
export function holdAnswer(openStream: () => Promise<Response>): HeldAnswer {
  let resolve!: (response: Response) => void;
  const response = new Promise<Response>((done) => {
    resolve = done;
  });
  let streamed = false;
  return {
    response,
    get streamed() {
      return streamed;
    },
    resolve,
    stream() {
      if (streamed) return;
      streamed = true;
      void openStream().then(resolve);
    },
  };
}
