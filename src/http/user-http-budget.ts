import type { Context, Next } from 'hono';
import type { AppEnv } from '../deps';
import { TooManyRequestsError } from '../errors/too-many-requests-error';
import { UserTrafficBudgets } from '../realtime/user-traffic-budgets';

/**
 * What one user's authenticated REST requests may cost this process per second, in bytes moved:
 * each request's body (its Content-Length) and its JSON response. A request is refused with 429
 * while the user's budget is spent (or in debt: a response larger than what was left is still
 * sent, and paid back before the next one), so one account polling multi-megabyte run details or
 * workflow pages cannot keep the event loop busy serialising for everyone else. Bytes, not
 * requests, because that is what the expensive answers cost (reading, parsing and writing them);
 * cheap requests are bounded by their fixed cost like anyone's.
 *
 * Held per process (like the /ws budget), not shared across replicas: it protects the process's
 * own event loop, which is what other users share with the caller.
 */
export class UserHttpBudget {
  private readonly budgets: UserTrafficBudgets;

  constructor(bytesPerSecond: number, now: () => number) {
    this.budgets = new UserTrafficBudgets(bytesPerSecond, now);
  }

  /** Runs the rest of the request for `userId` when the budget allows, and charges what it moved. */
  async meter(c: Context<AppEnv>, userId: string, next: Next): Promise<void> {
    const bucket = this.budgets.of(userId);
    if (!bucket.spend(Number(c.req.header('content-length')) || 0)) {
      const seconds = Math.max(1, Math.ceil(bucket.retryAfterMs() / 1000));
      throw new TooManyRequestsError(seconds, `Too much data requested in a short time, try again in ${seconds} s`);
    }
    let responseBytes = 0;
    // A Response does not tell its body's size without reading it, and every API answer is built
    // by c.json: this one counts the text it sends (the same text, headers and status as Hono's).
    const body = c.body as (text: string, arg?: unknown, headers?: Record<string, string>) => Response;
    c.json = ((object: unknown, arg?: unknown, headers?: Record<string, string>) => {
      const text: string | undefined = JSON.stringify(object);
      responseBytes += text?.length ?? 0;
      return body(text as string, arg, { 'Content-Type': 'application/json', ...headers });
    }) as unknown as typeof c.json;
    await next();
    // Asked again: a bucket may be dropped (as full) and made anew meanwhile.
    this.budgets.of(userId).charge(responseBytes || Number(c.res.headers.get('content-length')) || 0);
  }
}
