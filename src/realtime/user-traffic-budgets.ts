import { TokenBucket } from './rate-limiter';

/**
 * One byte budget per user, shared by all of that user's connections in one process (a Node API
 * process; on the edge, the Durable Object holding the user's sockets): every frame the user
 * sends costs its length, every message the user publishes its length times the sockets it
 * reaches here. However many connections a user opens, the work their traffic asks of the
 * process per second stays bounded, which the per-connection message rate alone does not do.
 *
 * A full bucket is no different from a new one, so full buckets are dropped now and then and
 * made again when needed: the map holds only users who sent something in about the last second.
 */
export class UserTrafficBudgets {
  private readonly buckets = new Map<string, TokenBucket>();
  private pruneAt = MIN_PRUNE_AT;

  constructor(
    /** Bytes per second a user's traffic may cost; also the burst (one second of it). */
    readonly bytesPerSecond: number,
    private readonly now: () => number,
  ) {}

  /** The user's bucket. Ask each time: a bucket is not to be kept, it may be dropped once full. */
  of(userId: string): TokenBucket {
    let bucket = this.buckets.get(userId);
    if (!bucket) {
      if (this.buckets.size >= this.pruneAt) this.prune();
      bucket = new TokenBucket(this.bytesPerSecond, this.bytesPerSecond, this.now);
      this.buckets.set(userId, bucket);
    }
    return bucket;
  }

  /** Users whose bucket is not full (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private prune(): void {
    for (const [userId, bucket] of this.buckets) if (bucket.full) this.buckets.delete(userId);
    // Amortised: the next prune waits until the map has doubled again.
    this.pruneAt = Math.max(MIN_PRUNE_AT, 2 * this.buckets.size);
  }
}

const MIN_PRUNE_AT = 64;
