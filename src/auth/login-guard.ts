/**
 * Brute-force guard for POST /auth/login, keyed by client address. An attempt takes a slot
 * BEFORE its password is checked (atomically, in Redis or Postgres), so a burst of parallel
 * logins cannot have more passwords checked than the policy allows: at most
 * `maxFailures + 1` per address and window, concurrency included. A right password gives its
 * slot back (a success neither counts nor resets the count); a wrong one keeps it as a
 * failure, and the failure past `maxFailures` blocks the address for `blockMs`.
 * Implementations differ only in where the counters live, shared by every API instance.
 */
export interface LoginGuard {
  /** Before the password check: null when the attempt may go on (it now holds a slot), else seconds to wait. */
  admit(address: string): Promise<number | null>;
  /** The password was right: the slot is given back. */
  release(address: string): Promise<void>;
  /** The password was wrong: the slot becomes a failure; the block in seconds when this one blocked the address. */
  recordFailure(address: string): Promise<number | null>;
}

export interface LoginGuardPolicy {
  /** More failures than this inside the window blocks the address. */
  maxFailures: number;
  windowMs: number;
  blockMs: number;
}

export const DEFAULT_LOGIN_GUARD_POLICY: LoginGuardPolicy = { maxFailures: 5, windowMs: 60_000, blockMs: 5 * 60_000 };

/** What `admit` answers when every slot is held by a check still in flight (not a block): try again shortly. */
export const BUSY_RETRY_SECONDS = 1;

export function secondsUntil(until: Date, now: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}
