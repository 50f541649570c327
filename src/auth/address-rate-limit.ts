/**
 * A fixed-window request count per client address (e.g. registrations): `limit` requests per
 * `windowMs`, counted atomically in Redis or Postgres, so every API instance shares it.
 */
export interface AddressRateLimit {
  /** Counts one request; null when it is within the limit, else the seconds until the window ends. */
  hit(address: string): Promise<number | null>;
}

export interface RateLimitPolicy {
  limit: number;
  windowMs: number;
}
