import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createApp } from '../../src/app';
import type { Clock } from '../../src/clock';
import { type Config, loadConfig } from '../../src/config/config';
import type { Database } from '../../src/db/database';
import { users } from '../../src/db/schema';
import type { AppDeps } from '../../src/deps';
import { type Logger, silentLogger } from '../../src/logging/logger';
import type { McpGateway } from '../../src/mcp-gateway/mcp-gateway';
import { openDatabase } from '../../src/node/database';
import { createAppDeps } from '../../src/node/node-deps';
import type { RunQueue } from '../../src/runs/run-queue';
import { RunService } from '../../src/runs/run-service';
import { TEMPLATE_DATABASE } from './global-setup';
import { OpenApiResponseChecker, openApiDocument } from './openapi-responses';
import { readJson } from './read-json';
import { bodies } from './response-bodies';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public now = new Date('2026-01-01T00:00:00Z')) {}
  readonly fn: Clock = () => new Date(this.now);
  advance(ms: number) {
    this.now = new Date(this.now.getTime() + ms);
  }
}

export function testConfig(env: Record<string, string | undefined> = {}): Config & { jwtSecret: string } {
  // Test files register dozens of users from one address and read megabytes as one user under a
  // clock that does not move; the registration limit and the HTTP budget have their own tests.
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    BCRYPT_COST: '10',
    REGISTER_RATE_LIMIT: '100000',
    HTTP_USER_BYTES_PER_SECOND: String(1024 * 1024 * 1024),
    ...env,
  });
  return { ...config, jwtSecret: config.jwtSecret ?? TEST_JWT_SECRET };
}

/** A new database on the test server, empty or cloned from `template`: its URL. */
async function createDatabase(name: string, template?: string): Promise<string> {
  const serverUrl = inject('postgresUrl');
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ''}`);
  await admin.end();
  return serverUrl.replace(/\/postgres$/, `/${name}`);
}

const uniqueName = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`;

/** A new, empty (unmigrated) database: what a real process's own migrations start from. */
export function createEmptyDatabaseUrl(prefix = 'db'): Promise<string> {
  return createDatabase(uniqueName(prefix));
}

/** A fresh database cloned from the migrated template, so each test file starts empty. */
export async function createTestDatabase(): Promise<{ url: string; db: Database; close(): Promise<void> }> {
  const url = await createDatabase(uniqueName('t'), TEMPLATE_DATABASE);
  const database = await openDatabase({ databaseUrl: url, maxConnections: 5 });
  return { url, db: database.db, close: database.close };
}

export interface TestAppOptions {
  clock?: Clock;
  redis?: Redis;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  db?: Database;
  /** The /mcp gateway; createAppDeps builds its Streamable HTTP front (MCP_GATEWAY_MODE) with it. */
  mcpGateway?: McpGateway;
  /** Extra overrides applied after the real deps are built (fakes for unit tests). */
  overrides?: Partial<AppDeps>;
}

/**
 * Every `app.request` of a route test (and so `json`) checks its answer against the app's own
 * GET /openapi.json before the test sees it: the document has to describe what the API sends.
 */
function holdResponsesToTheDocument(app: ReturnType<typeof createApp>): void {
  const request = app.request;
  let checker: Promise<OpenApiResponseChecker> | undefined;
  app.request = (async (input: RequestInfo | URL, init?: RequestInit, ...rest: unknown[]) => {
    const response = await (request as (...args: unknown[]) => Promise<Response>)(input, init, ...rest);
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    // WebSocket upgrades (the Node server routes them through app.request too) are not REST: the document leaves them out.
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (headers.get('upgrade')?.toLowerCase() === 'websocket') return response;
    checker ??= (request as (path: string) => Promise<Response>)('/openapi.json')
      .then((res) => readJson(res, openApiDocument))
      .then((doc) => new OpenApiResponseChecker(doc));
    await (await checker).check(method, url, response.clone());
    return response;
  }) as typeof app.request;
}

export async function createTestApp(options: TestAppOptions = {}) {
  const database = options.db ? undefined : await createTestDatabase();
  const db = options.db ?? (database as { db: Database }).db;
  const deps: AppDeps = {
    ...createAppDeps({
      config: testConfig(options.env),
      db,
      logger: options.logger ?? silentLogger,
      redis: options.redis,
      clock: options.clock,
      mcpGateway: options.mcpGateway,
    }),
    // app.request() has no socket: tests choose the peer address with a header.
    socketAddress: (c) => c.req.header('x-test-peer') ?? '127.0.0.1',
    ...options.overrides,
  };
  // An overridden queue or hub is the one runs are handed to and announced on.
  if (!options.overrides?.runs) deps.runs = new RunService(deps);
  const app = createApp(deps);
  holdResponsesToTheDocument(app);

  const json = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  let counter = 0;
  async function registerUser(role: 'user' | 'admin' = 'user') {
    counter += 1;
    const username = `user_${counter}_${crypto.randomUUID().slice(0, 8)}`;
    const password = 'correct-horse-battery';
    const res = await json('POST', '/auth/register', { username, email: `${username}@example.com`, password });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
    const session = await readJson(res, bodies.session);
    if (role === 'admin') {
      await db.update(users).set({ role: 'admin' }).where(eq(users.id, session.user.id));
      session.accessToken = await deps.accessTokens.sign({ userId: session.user.id, username, role: 'admin' });
    }
    return {
      ...session,
      username,
      password,
      auth: { authorization: `Bearer ${session.accessToken}` },
    };
  }

  return {
    app,
    deps,
    db,
    json,
    registerUser,
    /** Hands runs to `runQueue` from now on (a runner the test built on this app's database). */
    useRunQueue(runQueue: RunQueue) {
      deps.runQueue = runQueue;
      deps.runs = new RunService(deps);
    },
    close: async () => {
      await database?.close();
    },
  };
}
