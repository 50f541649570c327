import type { ChannelMessage } from './channel-hub';

/**
 * The /ws wire format, shared by the Node adapter and the edge Durable Object: every frame
 * both ways is a JSON text `{event, channel, payload}`. Parsing never throws; a bad frame
 * becomes a `ProtocolError` the session answers with an `error` event.
 */

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_CHANNELS_PER_CONNECTION = 100;
export const CHANNEL_NAME = /^[A-Za-z0-9:_.-]{1,128}$/;
export const EVENT_NAME = /^[A-Za-z0-9:_.-]{1,64}$/;

/** Events the server sends about the connection itself; a client may not publish them to others. */
export const RESERVED_EVENTS = new Set(['subscribed', 'unsubscribed', 'error', 'connected']);

export type ProtocolErrorCode =
  | 'invalid_json'
  | 'invalid_message'
  | 'message_too_large'
  | 'binary_not_supported'
  | 'invalid_channel'
  | 'invalid_event'
  | 'reserved_event'
  | 'too_many_channels'
  | 'forbidden'
  | 'rate_limited';

export class ProtocolError {
  constructor(
    readonly code: ProtocolErrorCode,
    readonly message: string,
    /** The channel the bad message named, when it named one; echoed so clients can correlate. */
    readonly channel = '',
    readonly details?: Record<string, unknown>,
  ) {}

  toMessage(): ChannelMessage {
    return {
      event: 'error',
      channel: this.channel,
      payload: { code: this.code, message: this.message, ...this.details },
    };
  }
}

const encoder = new TextEncoder();
/** Scratch space for `fitsInMessageBytes`: encoding into it tells whether a frame fits, without a copy per frame. */
const scratch = new Uint8Array(MAX_MESSAGE_BYTES);

/** Whether `text` is at most MAX_MESSAGE_BYTES in UTF-8 (natively encoded, not counted character by character). */
export function fitsInMessageBytes(text: string): boolean {
  // Every UTF-16 unit is at least one byte and at most three.
  if (text.length > MAX_MESSAGE_BYTES) return false;
  if (text.length * 3 <= MAX_MESSAGE_BYTES) return true;
  return encoder.encodeInto(text, scratch).read === text.length;
}

/** What a frame counts against a user's byte budget: a text frame's length, a binary frame's bytes. */
export function frameLength(data: unknown): number {
  if (typeof data === 'string') return data.length;
  return (data as { byteLength?: number } | null)?.byteLength ?? 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns one incoming text frame into a message. A missing `payload` reads as `{}` (so
 * `{"event":"subscribe","channel":"room"}` works); unknown top-level keys are dropped.
 */
export function parseMessage(text: string): ChannelMessage | ProtocolError {
  if (!fitsInMessageBytes(text)) {
    return new ProtocolError('message_too_large', `Messages are limited to ${MAX_MESSAGE_BYTES} bytes`, '', {
      limit: MAX_MESSAGE_BYTES,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return new ProtocolError('invalid_json', 'Message is not valid JSON');
  }
  if (!isPlainObject(data)) {
    return new ProtocolError('invalid_message', 'Message must be an object {event, channel, payload}');
  }
  const { event, channel, payload } = data;
  const channelForError = typeof channel === 'string' && CHANNEL_NAME.test(channel) ? channel : '';
  if (typeof event !== 'string' || typeof channel !== 'string') {
    return new ProtocolError('invalid_message', 'event and channel must be strings', channelForError);
  }
  if (payload !== undefined && !isPlainObject(payload)) {
    return new ProtocolError('invalid_message', 'payload must be a JSON object', channelForError);
  }
  if (!EVENT_NAME.test(event)) {
    return new ProtocolError('invalid_event', 'event must be 1-64 characters of [A-Za-z0-9:_.-]', channelForError);
  }
  return { event, channel, payload: payload ?? {} };
}

export function isValidChannel(channel: string): boolean {
  return CHANNEL_NAME.test(channel);
}

// One publish reaches many sockets: serialise each message object once, not once per socket.
const encoded = new WeakMap<ChannelMessage, string>();

export function encodeMessage(message: ChannelMessage): string {
  let text = encoded.get(message);
  if (text === undefined) {
    text = JSON.stringify({ event: message.event, channel: message.channel, payload: message.payload });
    encoded.set(message, text);
  }
  return text;
}
