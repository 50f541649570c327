import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database } from '../db/database';
import * as schema from '../db/schema';

export interface EdgeDatabase {
  db: Database;
  /** Ends the connection; the entry hands it to `ctx.waitUntil` so the response does not wait. */
  close(): Promise<void>;
}

/**
 * One postgres.js client per request: a Worker may not use an I/O object (the TCP socket of
 * `cloudflare:sockets`) created by another request, so nothing is pooled in the isolate.
 * Pooling is Hyperdrive's job. `max: 1` keeps it to one connection; `fetch_types: false` skips
 * the type-catalogue query postgres.js would otherwise send first on every connection.
 */
export function openEdgeDatabase(connectionString: string): EdgeDatabase {
  const client = postgres(connectionString, {
    max: 1,
    fetch_types: false,
    connect_timeout: 10,
    onnotice: () => {},
  });
  return {
    db: drizzle(client, { schema }) as unknown as Database,
    close: () => client.end({ timeout: 5 }),
  };
}
