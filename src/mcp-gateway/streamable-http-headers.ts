import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { RequestReader } from './request-reader';

/** What the Streamable HTTP transport's header rules say about a request (the SDK's rules, without a Headers object). */

/** `application/json`, any parameters (the SDK parses the media type the same way). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/json\s*(;|$)/i.test(contentType);
}

/** What a POST must accept: both of the answers it may get. */
export function acceptsJsonAndEventStream(read: RequestReader): boolean {
  const accept = read.header('accept');
  return accept?.includes('application/json') === true && accept.includes('text/event-stream');
}

export function acceptsEventStream(read: RequestReader): boolean {
  return read.header('accept')?.includes('text/event-stream') ?? false;
}

/** The request's `Mcp-Protocol-Version`, or the version a client that sends none is assumed to speak. */
export function protocolVersionOf(read: RequestReader): string {
  return read.header('mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
}

export function supportsProtocolVersion(read: RequestReader): boolean {
  const version = read.header('mcp-protocol-version');
  return version === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(version);
}

/** Clients of 2025-11-25 on take an event without data (SEP-1699): their streams start with one carrying an id. */
export function priming(protocolVersion: string): boolean {
  return protocolVersion >= '2025-11-25';
}
