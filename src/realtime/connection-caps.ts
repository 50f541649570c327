import type { HttpError } from '../errors/http-error';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { TooManyRequestsError } from '../errors/too-many-requests-error';

export interface ConnectionLimits {
  /** Open /ws connections one user may hold. */
  maxConnectionsPerUser: number;
  /** Open /ws connections of everyone together (per process; on the edge, per Durable Object). */
  maxConnections: number;
}

/** A client told to come back later should not come back at once (sockets close within a ping interval). */
const RETRY_AFTER_SECONDS = 5;

/**
 * Who holds how many /ws connections, so no user can take the connections (and fan-out) that
 * everyone else needs. The upgrade asks `refusal` first (an HTTP error, no socket); a race lost
 * between that check and the socket opening is caught by `take`, and the socket is closed.
 */
export class ConnectionCaps {
  private readonly perUser = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: ConnectionLimits) {}

  /** Why `userId` may not open one more connection now, or undefined when it may. */
  refusal(userId: string): HttpError | undefined {
    if ((this.perUser.get(userId) ?? 0) >= this.limits.maxConnectionsPerUser) {
      return new TooManyRequestsError(
        RETRY_AFTER_SECONDS,
        `At most ${this.limits.maxConnectionsPerUser} /ws connections per user; close one first`,
      );
    }
    if (this.total >= this.limits.maxConnections) {
      return new ServiceUnavailableError('The server holds as many /ws connections as it may; retry later', {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    return undefined;
  }

  /** Counts a connection of `userId`; false (nothing counted) when a cap is reached. */
  take(userId: string): boolean {
    if (this.refusal(userId)) return false;
    this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
    this.total++;
    return true;
  }

  release(userId: string): void {
    const held = this.perUser.get(userId) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.perUser.delete(userId);
    else this.perUser.set(userId, held - 1);
    this.total--;
  }
}
