import { eq, sql } from 'drizzle-orm';
import type { PasswordHasher } from '../auth/passwords';
import type { Database } from '../db/database';
import { type User, users } from '../db/schema';
import type { Logger } from '../logging/logger';

export type AdminBootstrapOutcome =
  /** No account had the username: it was created as admin. */
  | 'created'
  /** The account with the username was a user and ADMIN_PASSWORD is its password: promoted. */
  | 'promoted'
  /** The account with the username is already an admin (its password is left alone). */
  | 'unchanged'
  /** The account with the username is a user whose password is not ADMIN_PASSWORD: someone else's, left alone. */
  | 'refused_username_taken'
  /** No account has the username but another one has the email: nothing was created. */
  | 'refused_email_taken';

const findByUsername = (db: Database, username: string) =>
  db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = lower(${username})`)
    .limit(1);

/**
 * Start-up bootstrap from ADMIN_*. The configured admin is the account with ADMIN_USERNAME,
 * never an account that merely has the same email: whoever registered that email first would
 * otherwise become admin. An existing non-admin account with the username is promoted only when
 * ADMIN_PASSWORD is its password (the operator proves it is theirs); anything else is refused,
 * with an outcome the caller logs, and nothing changes. Safe when several replicas start at
 * once: the insert yields to a concurrent one (no unique violation escapes), and the account
 * the other replica created is then found like any existing one.
 */
export async function ensureAdmin(
  db: Database,
  passwords: PasswordHasher,
  admin: { username: string; email: string; password: string },
): Promise<AdminBootstrapOutcome> {
  const adopt = async (existing: User): Promise<AdminBootstrapOutcome> => {
    if (existing.role === 'admin') return 'unchanged';
    if (!(await passwords.verify(admin.password, existing.passwordHash))) return 'refused_username_taken';
    await db.update(users).set({ role: 'admin', updatedAt: new Date() }).where(eq(users.id, existing.id));
    return 'promoted';
  };
  const [existing] = await findByUsername(db, admin.username);
  if (existing) return adopt(existing);
  const created = await db
    .insert(users)
    .values({
      username: admin.username,
      email: admin.email,
      passwordHash: await passwords.hash(admin.password),
      role: 'admin',
    })
    .onConflictDoNothing()
    .returning({ id: users.id });
  if (created.length > 0) return 'created';
  // A replica starting alongside created it meanwhile (then it is found now), or the email belongs to someone else.
  const [raced] = await findByUsername(db, admin.username);
  return raced ? adopt(raced) : 'refused_email_taken';
}

const REFUSALS: Partial<Record<AdminBootstrapOutcome, string>> = {
  refused_username_taken:
    'admin bootstrap refused: ADMIN_USERNAME belongs to an existing user whose password is not ADMIN_PASSWORD; promote it from an admin account (PATCH /admin/users/:id) or choose another ADMIN_USERNAME',
  refused_email_taken:
    'admin bootstrap refused: ADMIN_EMAIL belongs to another account (not ADMIN_USERNAME); choose another ADMIN_EMAIL',
};

/** One line either way; a refusal at error level, saying what to change (the service still starts). */
export function logAdminBootstrap(
  logger: Logger,
  admin: { username: string; email: string },
  outcome: AdminBootstrapOutcome,
): void {
  const refusal = REFUSALS[outcome];
  if (refusal) logger.error({ username: admin.username, email: admin.email, outcome }, refusal);
  else logger.info({ username: admin.username, outcome }, 'admin bootstrap');
}
