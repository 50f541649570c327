import type { ChannelHub, ChannelListener, ChannelMessage } from './channel-hub';

export class InMemoryChannelHub implements ChannelHub {
  private readonly listeners = new Map<string, Set<ChannelListener>>();

  async publish(message: ChannelMessage): Promise<void> {
    this.deliver(message);
  }

  /** Local fan-out; cross-instance hubs call it for messages that arrive from elsewhere. */
  deliver(message: ChannelMessage): void {
    for (const listener of this.listeners.get(message.channel) ?? []) {
      try {
        listener(message);
      } catch {
        // One broken subscriber must not stop delivery to the others.
      }
    }
  }

  subscribe(channel: string, listener: ChannelListener): () => void {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      // Only drop the set this listener was in: a late second call must not remove a newer one.
      if (set.size === 0 && this.listeners.get(channel) === set) this.listeners.delete(channel);
    };
  }

  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  /** Channels with at least one local listener (cross-instance hubs subscribe upstream for these). */
  channelCount(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
