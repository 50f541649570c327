import { and, eq, isNull } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database } from '../db/database';
import { refreshTokens } from '../db/schema';
import { UnauthorizedError } from '../errors/unauthorized-error';
import { generateOpaqueToken, hashOpaqueToken } from './opaque-token';

const INVALID = 'Invalid or expired refresh token';

/**
 * Opaque refresh tokens, stored hashed and rotated on every use. A token that was already
 * rotated coming back means it was copied: the whole family (every descendant of that
 * login) is revoked and the caller must log in again.
 */
export class RefreshTokenStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async issue(userId: string, familyId: string = crypto.randomUUID(), db: Database = this.db): Promise<string> {
    const token = generateOpaqueToken();
    await db.insert(refreshTokens).values({
      userId,
      familyId,
      tokenHash: await hashOpaqueToken(token),
      expiresAt: new Date(this.clock().getTime() + this.ttlSeconds * 1000),
    });
    return token;
  }

  /** Exchanges a live token for a new one in the same family; returns the owner's id. */
  async rotate(token: string): Promise<{ userId: string; refreshToken: string }> {
    const tokenHash = await hashOpaqueToken(token);
    const [row] = await this.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).limit(1);
    if (!row) throw new UnauthorizedError(INVALID);
    if (row.revokedAt) {
      await this.revokeFamily(row.familyId);
      throw new UnauthorizedError('Refresh token was already used; every session of this login is revoked');
    }
    const now = this.clock();
    if (row.expiresAt <= now) throw new UnauthorizedError(INVALID);

    const rotated = await this.db.transaction(async (tx) => {
      // The conditional update is the lock: of two concurrent uses only one claims the token.
      const claimed = await tx
        .update(refreshTokens)
        .set({ revokedAt: now })
        .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.revokedAt)))
        .returning({ id: refreshTokens.id });
      if (claimed.length === 0) return undefined;
      return this.issue(row.userId, row.familyId, tx as unknown as Database);
    });
    if (!rotated) {
      await this.revokeFamily(row.familyId);
      throw new UnauthorizedError('Refresh token was already used; every session of this login is revoked');
    }
    return { userId: row.userId, refreshToken: rotated };
  }

  /** Logout: revokes the token's family; unknown tokens are ignored so logout never leaks. */
  async revoke(token: string): Promise<void> {
    const tokenHash = await hashOpaqueToken(token);
    const [row] = await this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, tokenHash))
      .limit(1);
    if (row) await this.revokeFamily(row.familyId);
  }

  /** Logout everywhere: every live refresh token of the user. */
  async revokeAll(userId: string, db: Database = this.db): Promise<void> {
    await db
      .update(refreshTokens)
      .set({ revokedAt: this.clock() })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.db
      .update(refreshTokens)
      .set({ revokedAt: this.clock() })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
  }
}
