import type { Logger } from './logger';

const FIRST_REMINDER_MS = 30_000;
const MAX_REMINDER_MS = 10 * 60_000;

/**
 * Logs a dependency going away and coming back once per change of state, not once per failed
 * attempt: a client reconnecting every few hundred milliseconds would otherwise write a line
 * per attempt for the whole outage. While it stays away, a reminder is logged after 30 s, then
 * after twice the previous gap (at most every 10 minutes), with the count of failures since.
 */
export class OutageLog {
  private downSince?: number;
  private failures = 0;
  private nextReminderAt = 0;
  private reminderGapMs = FIRST_REMINDER_MS;
  private lastError = '';

  constructor(
    private readonly logger: Logger,
    /** Names the dependency and the connection in every line, e.g. `{redis: 'api'}`. */
    private readonly fields: Record<string, unknown>,
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** The latest failure's message while down. */
  get reason(): string | undefined {
    return this.isDown ? this.lastError : undefined;
  }

  failed(error: unknown): void {
    const now = this.now();
    this.lastError = (error as Error)?.message ?? String(error);
    this.failures++;
    if (this.downSince === undefined) {
      this.downSince = now;
      this.failures = 1;
      this.reminderGapMs = FIRST_REMINDER_MS;
      this.nextReminderAt = now + this.reminderGapMs;
      this.logger.warn({ ...this.fields, err: { message: this.lastError } }, `${this.what} unavailable`);
      return;
    }
    if (now < this.nextReminderAt) return;
    this.logger.warn(
      { ...this.fields, err: { message: this.lastError }, failures: this.failures, downForMs: now - this.downSince },
      `${this.what} still unavailable`,
    );
    this.reminderGapMs = Math.min(this.reminderGapMs * 2, MAX_REMINDER_MS);
    this.nextReminderAt = now + this.reminderGapMs;
  }

  recovered(): void {
    if (this.downSince === undefined) return;
    this.logger.info(
      { ...this.fields, failures: this.failures, downForMs: this.now() - this.downSince },
      `${this.what} available again`,
    );
    this.downSince = undefined;
    this.failures = 0;
  }
}
