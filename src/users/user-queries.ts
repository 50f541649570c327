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

/**
 * The user lookups of auth and /profile over one database. Built where that database is (once per
 * process on Node, per request on the edge), so its prepared statement lives as long as the
 * connection it runs on.
 */
export class UserQueries {
  // Every GET /profile, admin check and refresh runs this: prepared, drizzle skips rebuilding the
  // SQL and Postgres reuses the plan.
  private readonly findById: ReturnType<typeof prepareFindUserById>;

  constructor(private readonly db: Database) {
    this.findById = prepareFindUserById(db);
  }

  async findUserById(id: string): Promise<User | undefined> {
    const [user] = await this.findById.execute({ id });
    return user;
  }

  /** Usernames and emails are unique case-insensitively, so lookups are too (served by the lower() indexes). */
  async findUserByLogin(login: { username?: string; email?: string }): Promise<User | undefined> {
    const condition = login.username
      ? sql`lower(${users.username}) = lower(${login.username})`
      : sql`lower(${users.email}) = lower(${login.email ?? ''})`;
    const [user] = await this.db.select().from(users).where(condition).limit(1);
    return user;
  }

  /** Whether the username or the email is already registered: one lookup for both (which one is taken is not told). */
  async isUsernameOrEmailTaken(candidate: { username: string; email: string }): Promise<boolean> {
    const [row] = await this.db
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
}
