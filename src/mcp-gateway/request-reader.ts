/**
 * How the Streamable HTTP front reads a request's headers and body. A runtime may do both
 * more cheaply than through its Web `Request`: on @hono/node-server, the first look at
 * `request.headers` or the body builds an undici Headers, Request and web stream for the
 * request (a fifth of a millisecond per relayed call on a small machine).
 */
export interface RequestReader {
  /** A header by lower-case name, as `Headers.get` reads it; undefined when absent. */
  header(name: string): string | undefined;
  /** The whole body as text (once). */
  text(): Promise<string>;
}

/**
 * Reads a request's body straight from the runtime's own request object (`c.env` in Hono),
 * or returns undefined to have it read through the Web `Request`. See `McpGatewayOptions.readBody`.
 */
export type RuntimeBodyReader = (env: unknown) => Promise<string> | undefined;

export function webRequestReader(request: Request): RequestReader {
  return { header: (name) => request.headers.get(name) ?? undefined, text: () => request.text() };
}
