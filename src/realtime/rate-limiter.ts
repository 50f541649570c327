/**
 * Token bucket: `burst` tokens (messages, bytes) at once, refilled at `perSecond`. The clock is injected
 * (milliseconds) so tests decide when time passes.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Spends `cost` tokens at once while any are left, going into debt for the part not covered:
   * nothing more is allowed until the debt is paid back, so the rate holds on average even for
   * costs larger than the burst. False (nothing spent) while the bucket is empty or in debt.
   */
  spend(cost: number): boolean {
    this.refill();
    if (this.tokens <= 0) return false;
    this.tokens -= cost;
    return true;
  }

  /** Spends `cost` tokens whatever is left (work already done), going into debt for the part not covered. */
  charge(cost: number): void {
    this.refill();
    this.tokens -= cost;
  }

  /** Whether the bucket is full, i.e. no different from a new one. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  /** Milliseconds until the next token (and any debt) is back. */
  retryAfterMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.perSecond);
  }
}
