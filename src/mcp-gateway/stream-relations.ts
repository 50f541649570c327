import type { MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * What transports can tell the relay beyond the SDK's `Transport`, so that messages related to
 * a request reach the client on that request's stream, before its answer.
 */

/** An upstream transport that knows which request each message belongs to (Streamable HTTP: the POST stream it came on). */
export interface RelatingUpstream {
  /** True while every message's `relatedRequestId` is exact: a message without one belongs to no request. */
  readonly relatesMessages?: boolean;
  /** The upstream answers this request on a stream of its own: messages of it may come before the answer. */
  onresponsestream?: (requestId: RequestId) => void;
}

/** A client-side transport that can answer a request on a stream of its own (Streamable HTTP). */
export interface StreamingClient {
  /** Answer this request on its own stream, as the upstream does. */
  streamResponse?(requestId: RequestId): void;
}

/** `extra` of an upstream message that arrived on a request's stream. */
export interface RelatedMessageExtra extends MessageExtraInfo {
  relatedRequestId?: RequestId;
}

export function relatedRequestIdOf(extra: MessageExtraInfo | undefined): RequestId | undefined {
  return (extra as RelatedMessageExtra | undefined)?.relatedRequestId;
}
