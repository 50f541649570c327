import { eq, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { type User, users } from '../db/schema';

function prepareFindUserById(db: Database) {
  return db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .limit(1)
    .prepare('find_user_by_id');
}

// Every GET /profile and refresh runs this. Prepared once per database: drizzle skips rebuilding the
// SQL and Postgres reuses the plan (bench/http.ts: about a quarter of the CPU per call, API and Postgres).
const findUserByIdStatements = new WeakMap<Database, ReturnType<typeof prepareFindUserById>>();

export async function findUserById(db: Database, id: string): Promise<User | undefined> {
  let statement = findUserByIdStatements.get(db);
  if (!statement) {
    statement = prepareFindUserById(db);
    findUserByIdStatements.set(db, statement);
  }
  const [user] = await statement.execute({ id });
  return user;
}

/** Usernames and emails are unique case-insensitively, so lookups are too (served by the lower() indexes). */
export async function findUserByLogin(
  db: Database,
  login: { username?: string; email?: string },
): Promise<User | undefined> {
  const condition = login.username
    ? sql`lower(${users.username}) = lower(${login.username})`
    : sql`lower(${users.email}) = lower(${login.email ?? ''})`;
  const [user] = await db.select().from(users).where(condition).limit(1);
  return user;
}

/** Whether the username or the email is already registered: one lookup for both (which one is taken is not told). */
export async function isUsernameOrEmailTaken(
  db: Database,
  candidate: { username: string; email: string },
): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(
      or(
        sql`lower(${users.username}) = lower(${candidate.username})`,
        sql`lower(${users.email}) = lower(${candidate.email})`,
      ),
    )
    .limit(1);
  return row !== undefined;
}
