import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

/** What the Streamable HTTP transport's header rules say about a request (the SDK's rules). */

/** `application/json`, any parameters (the SDK parses the media type the same way). */
export function isJsonMediaType(contentType: string | null): boolean {
  return contentType !== null && /^\s*application\/json\s*(;|$)/i.test(contentType);
}

/** What a POST must accept: both of the answers it may get. */
export function acceptsJsonAndEventStream(headers: Headers): boolean {
  const accept = headers.get('accept');
  return accept?.includes('application/json') === true && accept.includes('text/event-stream');
}

export function acceptsEventStream(headers: Headers): boolean {
  return headers.get('accept')?.includes('text/event-stream') ?? false;
}

/** The request's `Mcp-Protocol-Version`, or the version a client that sends none is assumed to speak. */
export function protocolVersionOf(headers: Headers): string {
  return headers.get('mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
}

export function supportsProtocolVersion(headers: Headers): boolean {
  const version = headers.get('mcp-protocol-version');
  return version === null || SUPPORTED_PROTOCOL_VERSIONS.includes(version);
}

/** Clients of 2025-11-25 on take an event without data (SEP-1699): their streams start with one carrying an id. */
export function priming(protocolVersion: string): boolean {
  return protocolVersion >= '2025-11-25';
}
