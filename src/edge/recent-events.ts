import { REPLAY_WINDOW_SECONDS } from '../realtime/event-signature';

const MAX_REMEMBERED_EVENTS = 10_000;

/**
 * Signed event batches (their signature is the id) seen within twice the replay window, so a
 * batch replayed while its signature is still accepted is delivered once. In memory: an object
 * that was evicted forgets them, which the signature's timestamp window bounds.
 */
export class RecentEvents {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True when `eventId` was seen already; remembers it otherwise. */
  seenBefore(eventId: string): boolean {
    const now = this.now();
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now && this.seen.size <= MAX_REMEMBERED_EVENTS) break;
      this.seen.delete(id);
    }
    if (this.seen.has(eventId)) return true;
    this.seen.set(eventId, now + 2 * REPLAY_WINDOW_SECONDS * 1000);
    return false;
  }
}
