import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * Events of a test upstream's streams, kept in memory for `Last-Event-ID` resumption. Unlike the
 * SDK's example store, it can resume the standalone GET stream too (the example reads the stream
 * id as the text before the first `_`, and the SDK names that stream `_GET_stream`).
 */
export class StreamEventStore implements EventStore {
  private readonly streams = new Map<string, Array<{ id: string; message: JSONRPCMessage }>>();
  private readonly streamOf = new Map<string, string>();
  private next = 0;

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `event-${++this.next}`;
    const events = this.streams.get(streamId) ?? [];
    events.push({ id, message });
    this.streams.set(streamId, events);
    this.streamOf.set(id, streamId);
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.streamOf.get(eventId);
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const streamId = this.streamOf.get(lastEventId);
    if (streamId === undefined) return '';
    const events = this.streams.get(streamId) ?? [];
    const after = events.findIndex((event) => event.id === lastEventId);
    for (const event of events.slice(after + 1)) await send(event.id, event.message);
    return streamId;
  }
}
