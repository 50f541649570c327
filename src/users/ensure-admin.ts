import { eq, or, sql } from 'drizzle-orm';
import type { PasswordHasher } from '../auth/passwords';
import type { Database } from '../db/database';
import { users } from '../db/schema';

/**
 * Start-up bootstrap from ADMIN_*: creates the admin, or promotes the existing account with
 * that username or email. An existing password is left alone: the variable is for first start.
 */
export async function ensureAdmin(
  db: Database,
  passwords: PasswordHasher,
  admin: { username: string; email: string; password: string },
): Promise<'created' | 'promoted' | 'unchanged'> {
  const [existing] = await db
    .select()
    .from(users)
    .where(
      or(sql`lower(${users.username}) = lower(${admin.username})`, sql`lower(${users.email}) = lower(${admin.email})`),
    )
    .limit(1);
  if (existing) {
    if (existing.role === 'admin') return 'unchanged';
    await db.update(users).set({ role: 'admin', updatedAt: new Date() }).where(eq(users.id, existing.id));
    return 'promoted';
  }
  await db.insert(users).values({
    username: admin.username,
    email: admin.email,
    passwordHash: await passwords.hash(admin.password),
    role: 'admin',
  });
  return 'created';
}
