import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from '../db/database';

const dialect = new PgDialect();

/**
 * A raw statement (CTEs and the like, which drizzle's builders do not express) prepared like a
 * builder's `.prepare(name)`: its SQL is built once, and postgres.js runs it as a named statement
 * (one Bind/Execute round trip) rather than an unnamed one (a Parse/Describe round trip first).
 * `sql.placeholder(name)`s in `query` take their values from each call's argument.
 * Resolves with the rows, from postgres.js (an array) and PGlite (a result holding them) alike.
 */
export function prepareSql<Row>(
  db: Database,
  name: string,
  query: SQL,
): (values: Record<string, unknown>) => Promise<Row[]> {
  const prepared = db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false);
  return async (values) => {
    const result = (await prepared.execute(values)) as unknown;
    return (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as Row[];
  };
}
