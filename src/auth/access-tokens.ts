import { errors, jwtVerify, SignJWT } from 'jose';
import * as z from 'zod';
import type { Clock } from '../clock';
import type { UserRole } from '../db/schema';

export interface AccessTokenClaims {
  userId: string;
  username: string;
  role: UserRole;
  /** The user's token version when the token was issued (`ver`); see `users.token_version`. */
  tokenVersion: number;
}

export interface AccessTokenOptions {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
}

const ALGORITHM = 'HS256';
// Bounds the verified-token cache (oldest first out): ~3 MB at most.
const VERIFIED_CACHE_SIZE = 10_000;

const claimsSchema = z.object({
  sub: z.uuid(),
  username: z.string().min(1),
  role: z.enum(['user', 'admin']),
  jti: z.string().min(1),
  // Absent in tokens issued before token versions existed: version 0, every user's first.
  ver: z.number().int().min(0).default(0),
});

export class InvalidAccessTokenError extends Error {
  constructor(readonly reason: string) {
    super(`invalid access token: ${reason}`);
    this.name = 'InvalidAccessTokenError';
  }
}

/**
 * Signs and verifies access tokens. The HMAC key is imported into Web Crypto once and
 * reused; verification pins algorithm, issuer and audience so `alg: none`, RS/HS confusion
 * and tokens minted for another service are all refused.
 */
export class AccessTokens {
  private key?: Promise<CryptoKey>;
  /**
   * Tokens that verified, by their exact text, until they expire. A client sends the same token
   * for its whole lifetime, and each HMAC through Web Crypto is an async job (on Node, ~50 µs of
   * CPU per request: a quarter of GET /profile in bench/http.ts). Only valid tokens get in, and
   * `exp` is checked again on every hit.
   */
  private readonly verified = new Map<string, { claims: AccessTokenClaims; expSeconds: number }>();

  constructor(private readonly options: AccessTokenOptions) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /** `tokenVersion` defaults to 0, a new user's. */
  async sign(claims: Omit<AccessTokenClaims, 'tokenVersion'> & { tokenVersion?: number }): Promise<string> {
    const nowSeconds = Math.floor(this.options.clock().getTime() / 1000);
    return new SignJWT({ role: claims.role, username: claims.username, ver: claims.tokenVersion ?? 0 })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.options.ttlSeconds)
      .setJti(crypto.randomUUID())
      .sign(await this.cryptoKey());
  }

  async verify(token: string): Promise<AccessTokenClaims> {
    const hit = this.verified.get(token);
    if (hit) {
      if (Math.floor(this.options.clock().getTime() / 1000) < hit.expSeconds) return { ...hit.claims };
      this.verified.delete(token);
      throw new InvalidAccessTokenError('ERR_JWT_EXPIRED');
    }
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, await this.cryptoKey(), {
        algorithms: [ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        currentDate: this.options.clock(),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      }));
    } catch (error) {
      throw new InvalidAccessTokenError(error instanceof errors.JOSEError ? error.code : 'malformed');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new InvalidAccessTokenError('unexpected claims');
    const result = {
      userId: claims.data.sub,
      username: claims.data.username,
      role: claims.data.role,
      tokenVersion: claims.data.ver,
    };
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims: result, expSeconds: (payload as { exp: number }).exp });
    return { ...result };
  }

  private cryptoKey(): Promise<CryptoKey> {
    this.key ??= crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(this.options.secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    return this.key;
  }
}
