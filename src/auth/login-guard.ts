/**
 * Brute-force guard for POST /auth/login, keyed by client IP. Implementations share the
 * policy below and differ only in where the counters live (Postgres or Redis), so every API
 * instance sees the same counts and a restart does not reset them.
 */
export interface LoginGuard {
  /** Seconds the IP must still wait, or null when it may try. */
  retryAfterSeconds(ip: string): Promise<number | null>;
  /** Counts a failed login; returns the wait in seconds when this failure triggered a block. */
  recordFailure(ip: string): Promise<number | null>;
}

export const LOGIN_GUARD_POLICY = {
  /** More failures than this inside the window blocks the IP. */
  maxFailures: 5,
  windowMs: 60_000,
  blockMs: 5 * 60_000,
} as const;

export function secondsUntil(until: Date, now: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}
