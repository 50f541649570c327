import type { Logger } from '../logging/logger';
import { OutageLog } from '../logging/outage-log';
import { withTimeout } from '../with-timeout';
import type { AddressRateLimit } from './address-rate-limit';
import type { LoginGuard } from './login-guard';

/**
 * Runs each call on the primary store (Redis) and, when that fails or has not answered within
 * `timeoutMs`, on the fallback (Postgres), so a Redis outage costs a login or a registration
 * at most that long instead of hanging it. Counts made during an outage stay in Postgres (the
 * limits then hold per store, so at worst twice over while Redis comes and goes).
 */
export class StoreFallback {
  private readonly outage: OutageLog;

  constructor(
    logger: Logger,
    private readonly timeoutMs: number,
  ) {
    this.outage = new OutageLog(logger, { primary: 'redis', fallback: 'postgres' }, 'rate-limit store');
  }

  async run<T>(primary: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await withTimeout(primary(), this.timeoutMs, `redis took longer than ${this.timeoutMs} ms`);
    } catch (error) {
      this.outage.failed(error);
      return fallback();
    }
    this.outage.recovered();
    return result;
  }

  /** A function that runs `primary`, or `fallback` when the primary store fails. */
  private either<T>(primary: (address: string) => Promise<T>, fallback: (address: string) => Promise<T>) {
    return (address: string) =>
      this.run(
        () => primary(address),
        () => fallback(address),
      );
  }

  loginGuard(primary: LoginGuard, fallback: LoginGuard): LoginGuard {
    return {
      admit: this.either(primary.admit.bind(primary), fallback.admit.bind(fallback)),
      release: this.either(primary.release.bind(primary), fallback.release.bind(fallback)),
      recordFailure: this.either(primary.recordFailure.bind(primary), fallback.recordFailure.bind(fallback)),
    };
  }

  rateLimit(primary: AddressRateLimit, fallback: AddressRateLimit): AddressRateLimit {
    return { hit: this.either(primary.hit.bind(primary), fallback.hit.bind(fallback)) };
  }
}
