import { and, eq, type SQL } from 'drizzle-orm';
import { projects } from '../db/schema';
import type { AuthUser } from '../deps';

/** Admins see every project; anyone else only their own. Applied to every read and write. */
export function visibleProjects(user: Pick<AuthUser, 'id' | 'role'>, id?: string): SQL | undefined {
  const owner = user.role === 'admin' ? undefined : eq(projects.ownerId, user.id);
  return and(id ? eq(projects.id, id) : undefined, owner);
}
