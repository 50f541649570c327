import type { Logger } from '../logging/logger';

/**
 * What one Durable Object sends to one other, in order and in batches: items queue while a
 * batch is in flight and go out together in the next one, so a burst costs a few calls instead
 * of one per item, and the receiver sees them in the order they were pushed (one batch in
 * flight at a time, whatever the transport guarantees). Bounded: past `maxQueued` a new item is
 * refused rather than growing memory for a destination that cannot keep up.
 */
export interface OutboxOptions<Item> {
  /** Delivers one batch; rejects when the destination did not take it. */
  send(items: Item[]): Promise<void>;
  maxBatch: number;
  maxQueued: number;
  /** A batch that failed or an item refused for a full queue: delivery is best effort. */
  onLoss(count: number, error: unknown): void;
  /** Everything queued went out (or was lost): the owner may drop an outbox it no longer needs. */
  onIdle?(): void;
}

interface Entry<Item> {
  item: Item;
  settle?: (sent: boolean) => void;
}

export class OutboxFullError extends Error {
  constructor() {
    super('outbox full');
    this.name = 'OutboxFullError';
  }
}

export class OrderedOutbox<Item> {
  private readonly queue: Entry<Item>[] = [];
  private sending = false;

  constructor(private readonly options: OutboxOptions<Item>) {}

  /** Items waiting for the next batch. */
  get queued(): number {
    return this.queue.length;
  }

  get idle(): boolean {
    return !this.sending && this.queue.length === 0;
  }

  /** Queues `item`; losing it is reported through `onLoss`. */
  push(item: Item): void {
    this.enqueue({ item });
  }

  /** Queues `item` and resolves with whether the batch that carried it was taken. Never rejects. */
  pushAndWait(item: Item): Promise<boolean> {
    return new Promise((resolve) => this.enqueue({ item, settle: resolve }));
  }

  private enqueue(entry: Entry<Item>): void {
    if (this.queue.length >= this.options.maxQueued) {
      this.options.onLoss(1, new OutboxFullError());
      entry.settle?.(false);
      return;
    }
    this.queue.push(entry);
    if (!this.sending) void this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatch);
        let sent = true;
        try {
          await this.options.send(batch.map((entry) => entry.item));
        } catch (error) {
          sent = false;
          this.options.onLoss(batch.length, error);
        }
        for (const entry of batch) entry.settle?.(sent);
      }
    } finally {
      this.sending = false;
    }
    this.options.onIdle?.();
  }
}

/** Items sent to one destination in one call, at most. */
const MAX_BATCH = 100;

export interface OutboxesOptions<Item> {
  send(destination: string, items: Item[]): Promise<void>;
  /** Items held per destination while a batch to it is in flight. */
  maxQueued: number;
  logger: Logger;
  /** Named in the warning when items are lost, e.g. "a channel object". */
  destinationKind: string;
  /** Whether an outbox that went idle is still wanted (a registered channel, a subscribed shard). */
  keep(destination: string): boolean;
}

/** One ordered outbox per destination, made on first use and dropped once idle and no longer wanted. */
export class Outboxes<Item> {
  private readonly byDestination = new Map<string, OrderedOutbox<Item>>();

  constructor(private readonly options: OutboxesOptions<Item>) {}

  to(destination: string): OrderedOutbox<Item> {
    const existing = this.byDestination.get(destination);
    if (existing) return existing;
    const { send, maxQueued, logger, destinationKind, keep } = this.options;
    const created = new OrderedOutbox<Item>({
      send: (items) => send(destination, items),
      maxBatch: MAX_BATCH,
      maxQueued,
      onLoss: (lost, error) =>
        logger.warn(
          { destination, lost, err: { message: (error as Error)?.message ?? String(error) } },
          `realtime messages for ${destinationKind} lost`,
        ),
      onIdle: () => {
        if (!keep(destination) && this.byDestination.get(destination) === created)
          this.byDestination.delete(destination);
      },
    });
    this.byDestination.set(destination, created);
    return created;
  }
}
