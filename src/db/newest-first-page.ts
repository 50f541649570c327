import { count, desc, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable, SelectedFields } from 'drizzle-orm/pg-core';
import { offsetOf, type Page, type Pagination } from '../http/pagination';
import type { Database } from './database';

type ListableTable = PgTable & { id: PgColumn; createdAt: PgColumn; $inferSelect: unknown };

/**
 * One page of a table's rows, newest first (id breaks ties so pages never overlap), with the
 * total under the same condition: the shape every list route answers with. `columns` limits
 * what is read (a list must not pull a large column it does not show); default: every column.
 */
export async function newestFirstPage<T extends ListableTable, Item, Row = T['$inferSelect']>(
  db: Database,
  table: T,
  where: SQL | undefined,
  page: Pagination,
  toItem: (row: Row) => Item,
  columns?: SelectedFields,
): Promise<Page<Item>> {
  const [rows, [total]] = await Promise.all([
    (columns ? db.select(columns) : db.select())
      .from(table as PgTable)
      .where(where)
      .orderBy(desc(table.createdAt), desc(table.id))
      .limit(page.limit)
      .offset(offsetOf(page)),
    db
      .select({ value: count() })
      .from(table as PgTable)
      .where(where),
  ]);
  return {
    items: (rows as Row[]).map(toItem),
    page: page.page,
    limit: page.limit,
    total: total?.value ?? 0,
  };
}
