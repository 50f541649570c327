import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Database } from '../db/database';
import { isDatabaseUnavailable } from '../db/database-unavailable';
import * as schema from '../db/schema';
import type { Logger } from '../logging/logger';
import { StartupError } from './startup-error';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK_ID = 4_242_001;

export interface OpenDatabase {
  db: Database;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** postgres.js when DATABASE_URL is set; otherwise an embedded PGlite under `dataDir` (or in memory). */
export async function openDatabase(options: {
  databaseUrl?: string;
  dataDir?: string | 'memory';
  maxConnections?: number;
}): Promise<OpenDatabase> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connect_timeout: 10,
    });
    return {
      db: drizzlePostgres(client, { schema }) as unknown as Database,
      kind: 'postgres',
      close: () => client.end({ timeout: 5 }),
    };
  }
  let dataDir: string | undefined;
  if (options.dataDir && options.dataDir !== 'memory') {
    dataDir = `${options.dataDir}/pglite`;
    mkdirSync(dataDir, { recursive: true });
  }
  const client = new PGlite(dataDir);
  return {
    db: drizzlePglite(client, { schema }) as unknown as Database,
    kind: 'pglite',
    close: () => client.close(),
  };
}

/** Where a Postgres URL points, for messages: host, port, database and user, never the password. */
export function describeDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const user = decodeURIComponent(url.username) || process.env.PGUSER || 'the OS user';
  const database = decodeURIComponent(url.pathname.slice(1)) || user;
  return `Postgres at ${url.hostname || 'localhost'}:${url.port || 5432}, database "${database}", user "${user}"`;
}

/** The driver's own words for why a connection or query failed: a Postgres message with its SQLSTATE, or a socket error. */
function databaseFailureCause(error: unknown): string {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      return message.includes(code) ? message : `${message} (${code})`;
    }
  }
  return String((error as Error)?.message ?? error);
}

/** The wait between start-up attempts: 0.5 s doubling up to 5 s. */
const connectRetryDelayMs = (attempt: number) => Math.min(500 * 2 ** (attempt - 1), 5000);

/**
 * Connects once before anything else uses the database, so a start-up problem is one line naming
 * host, port, database, user and the cause. An unreachable server (refused, not resolvable, still
 * starting up: compose starts it alongside) is tried up to `attempts` times; a wrong password, role
 * or database name fails at once, since waiting would not fix it.
 */
export async function waitForDatabase(
  databaseUrl: string,
  options: { attempts: number; logger?: Logger },
): Promise<void> {
  const target = describeDatabaseUrl(databaseUrl);
  for (let attempt = 1; ; attempt++) {
    const client = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      await client`select 1`;
      return;
    } catch (error) {
      const cause = databaseFailureCause(error);
      if (!isDatabaseUnavailable(error) || attempt >= options.attempts) {
        const tries = attempt > 1 ? ` (gave up after ${attempt} attempts; DATABASE_CONNECT_ATTEMPTS)` : '';
        throw new StartupError(`cannot use ${target}: ${cause}${tries}`);
      }
      const retryInMs = connectRetryDelayMs(attempt);
      options.logger?.warn(
        { database: target, attempt, attempts: options.attempts, retryInMs, cause },
        'database not reachable yet, retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    } finally {
      await client.end({ timeout: 1 });
    }
  }
}

/**
 * Applies drizzle/ migrations. Against a server, it first waits for the database (see
 * waitForDatabase), then an advisory lock on a dedicated connection keeps an API and workers
 * starting together from migrating at the same time.
 */
export async function runMigrations(options: {
  databaseUrl?: string;
  database: OpenDatabase;
  /** Default 1: fail at once. Entry points pass DATABASE_CONNECT_ATTEMPTS. */
  connectAttempts?: number;
  logger?: Logger;
}): Promise<void> {
  if (options.database.kind === 'pglite') {
    await migratePglite(options.database.db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  await waitForDatabase(options.databaseUrl as string, {
    attempts: options.connectAttempts ?? 1,
    logger: options.logger,
  });
  const client = postgres(options.databaseUrl as string, { max: 1, onnotice: () => {} });
  try {
    const db = drizzlePostgres(client);
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    try {
      await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
