import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema';

/** Any drizzle Postgres database (postgres.js on Node and the edge, PGlite when embedded). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
