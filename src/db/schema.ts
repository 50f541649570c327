import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const userRole = pgEnum('user_role', ['user', 'admin']);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    username: varchar('username', { length: 32 }).notNull(),
    email: varchar('email', { length: 254 }).notNull(),
    passwordHash: text('password_hash').notNull(),
    role: userRole('role').notNull().default('user'),
    // In every access token (`ver`); bumped by logout-everywhere, so earlier tokens stop counting
    // wherever the row is consulted (admin power).
    tokenVersion: integer('token_version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // Case-insensitive uniqueness: "Alice" and "alice" are the same account name.
    uniqueIndex('users_username_lower_idx').on(sql`lower(${t.username})`),
    uniqueIndex('users_email_lower_idx').on(sql`lower(${t.email})`),
  ],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Every token minted by rotating one login shares a family; reuse revokes the family.
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('refresh_tokens_family_idx').on(t.familyId), index('refresh_tokens_user_idx').on(t.userId)],
);

export const loginGuards = pgTable('login_guards', {
  ip: varchar('ip', { length: 64 }).primaryKey(),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
  failures: integer('failures').notNull(),
  // Attempts admitted whose password check has not ended yet: they hold a slot like a failure.
  pending: integer('pending').notNull().default(0),
  blockedUntil: timestamp('blocked_until', { withTimezone: true }),
});

/** Fixed-window request counts per client address (e.g. `register`), when Redis is not the store. */
export const rateLimitWindows = pgTable(
  'rate_limit_windows',
  {
    scope: varchar('scope', { length: 32 }).notNull(),
    address: varchar('address', { length: 64 }).notNull(),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
    hits: integer('hits').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.address] })],
);

export const projects = pgTable(
  'projects',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 200 }).notNull(),
    description: text('description'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('projects_owner_created_idx').on(t.ownerId, t.createdAt)],
);

export const workflows = pgTable(
  'workflows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'set null' }),
    name: varchar('name', { length: 200 }).notNull(),
    description: text('description'),
    steps: jsonb('steps').notNull(),
    lastRun: timestamp('last_run', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('workflows_owner_created_idx').on(t.ownerId, t.createdAt)],
);

export const runStatus = pgEnum('run_status', ['queued', 'running', 'completed', 'failed', 'cancelled']);

export const workflowQueue = pgTable(
  'workflow_queue',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workflowId: uuid('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: runStatus('status').notNull().default('queued'),
    input: jsonb('input').notNull().default({}),
    // Snapshot of the workflow's steps at execute time plus each step's state.
    steps: jsonb('steps').notNull(),
    progress: integer('progress').notNull().default(0),
    // Bytes of the step results stored in `steps` (their JSON), kept by the executor at each
    // checkpoint: what the per-user run storage quota adds up without reading the results.
    resultBytes: integer('result_bytes').notNull().default(0),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    idempotencyKey: varchar('idempotency_key', { length: 255 }),
    // The failed or cancelled run this one retries (POST .../retry, or a retry from Bull Board).
    retryOf: uuid('retry_of').references((): AnyPgColumn => workflowQueue.id, { onDelete: 'set null' }),
    // Lease of the executor running the row: only the holder may write step state, and a
    // lease that is not renewed (its executor died) lets another executor take the run over.
    lockedBy: varchar('locked_by', { length: 128 }),
    lockExpiresAt: timestamp('lock_expires_at', { withTimezone: true }),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('workflow_queue_owner_created_idx').on(t.ownerId, t.createdAt),
    // The quota check at execute sums one user's runs from this index alone.
    index('workflow_queue_owner_storage_idx').on(t.ownerId, t.status, t.resultBytes),
    index('workflow_queue_workflow_created_idx').on(t.workflowId, t.createdAt),
    // Executors claim the oldest claimable rows first; also serves every lookup by status alone.
    index('workflow_queue_status_created_idx').on(t.status, t.createdAt),
    uniqueIndex('workflow_queue_idempotency_idx').on(t.ownerId, t.idempotencyKey),
    // A run is retried at most once: a second retry (a double click, Bull Board and the API) finds the first.
    uniqueIndex('workflow_queue_retry_of_idx').on(t.retryOf),
  ],
);

export type User = typeof users.$inferSelect;
export type Project = typeof projects.$inferSelect;
export type Workflow = typeof workflows.$inferSelect;
export type WorkflowRun = typeof workflowQueue.$inferSelect;
export type UserRole = (typeof userRole.enumValues)[number];
export type RunStatus = (typeof runStatus.enumValues)[number];
