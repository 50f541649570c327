/**
 * The MCP server could not be reached or the connection broke: connecting failed, the
 * transport errored, or the connection closed before the answer arrived. Unlike a
 * result with `isError` (the tool ran and failed), this says nothing about the tool;
 * callers retry with backoff (the gateway answers 503).
 */
export class McpUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'McpUnavailableError';
  }
}

/** No answer within the request timeout. The client sent `notifications/cancelled`, but the tool may have run. */
export class McpRequestTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`MCP ${method} timed out after ${timeoutMs} ms`, options);
    this.name = 'McpRequestTimeoutError';
  }
}
