import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { freePort, type RunningServer, startPostgres, startRedis } from './helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, spawnProcess, waitForHttp } from './helpers/spawn-node';
import { createEmptyDatabaseUrl, TEST_JWT_SECRET } from './helpers/test-app';

/** What the API and the worker say when they start, and how they fail when they cannot. */
const started: SpawnedNode[] = [];
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const node of started) if (node.child.exitCode === null) node.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
});

function startApi(env: Record<string, string>): SpawnedNode {
  const node = spawnEntry('src/node/server.ts', {
    JWT_SECRET: TEST_JWT_SECRET,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    ...env,
  });
  started.push(node);
  return node;
}

/** The process's JSON log lines. */
function logLines(node: SpawnedNode): Record<string, unknown>[] {
  return node
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

async function waitForLog(node: SpawnedNode, msg: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = logLines(node).find((l) => l.msg === msg);
    if (line) return line;
    if (node.child.exitCode !== null) throw new Error(`exited before "${msg}": ${node.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('start-up messages', { timeout: PROCESS_HOOK_MS }, () => {
  it('a taken port fails at once with one line, before the embedded database is opened', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(join(tmpdir(), 'wfp-port-'));
    try {
      const api = startApi({ BACKEND_PORT: String(port), DATA_DIR: dataDir });
      expect(await api.exited).toBe(1);
      expect(api.output().trim()).toBe(`port ${port} is in use; set BACKEND_PORT`);
      expect(existsSync(join(dataDir, 'pglite'))).toBe(false);
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says where it listens, with which database, queue and MCP server, and where the docs are; no credential', async () => {
    const redis = await startRedis();
    servers.push(redis);
    const databaseUrl = (await createEmptyDatabaseUrl('start')).replace('postgres@', 'postgres:db-secret@');
    const port = await freePort();
    const api = startApi({
      BACKEND_PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      MCP_URL: 'http://gateway:mcp-secret@127.0.0.1:9/mcp?token=query-secret',
      WORKFLOW_QUEUE_NAME: 'startup-runs',
      LOG_LEVEL: 'info',
    });
    const ready = await waitForLog(api, 'api ready');
    const { hostname, port: dbPort, pathname } = new URL(databaseUrl);
    expect(ready).toMatchObject({
      url: `http://127.0.0.1:${port}`,
      docs: `http://127.0.0.1:${port}/docs`,
      database: `Postgres postgres://${hostname}:${dbPort}${pathname}`,
      runs: expect.stringContaining(`BullMQ queue "startup-runs" on ${redis.url}`),
      mcp: 'http://127.0.0.1:9/mcp',
    });
    expect(api.output()).not.toMatch(/db-secret|mcp-secret|query-secret/);
    // Not a terminal: JSON lines only.
    expect(api.output()).not.toContain('API ready on');
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });

  it('also prints one line for a person when stdout is a terminal', async () => {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      JWT_SECRET: TEST_JWT_SECRET,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      BACKEND_PORT: String(port),
      DATABASE_URL: await createEmptyDatabaseUrl('tty'),
      LOG_LEVEL: 'warn',
    };
    // util-linux `script` gives the server a pseudo-terminal; its own process group is stopped as a whole.
    const tty = spawnProcess(
      'script',
      ['-qfec', `${process.execPath} --import tsx src/node/server.ts`, '/dev/null'],
      env,
      {
        detached: true,
      },
    );
    const child = tty.child;
    // Also when the test fails or times out: nothing of it may outlive the test.
    onTestFinished(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    });
    while (!tty.output().includes('API ready on')) {
      if (child.exitCode !== null) throw new Error(`exited: ${tty.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const line = tty
      .output()
      .split(/\r?\n/)
      .find((l) => l.startsWith('API ready on')) as string;
    expect(line).toBe(
      `API ready on http://127.0.0.1:${port} (docs: http://127.0.0.1:${port}/docs) | database: Postgres ${new URL(env.DATABASE_URL).href.replace('postgres@', '')} | runs: in process (no REDIS_URL) | MCP: built-in`,
    );
  });
});

describe('database problems at start', { timeout: PROCESS_HOOK_MS }, () => {
  it('an unreachable server is retried DATABASE_CONNECT_ATTEMPTS times, then one line names it and the cause', async () => {
    const closedPort = await freePort();
    const api = startApi({
      BACKEND_PORT: String(await freePort()),
      DATABASE_URL: `postgres://app:db-secret@127.0.0.1:${closedPort}/appdb`,
      DATABASE_CONNECT_ATTEMPTS: '2',
      LOG_LEVEL: 'info',
    });
    expect(await api.exited).toBe(1);
    const retries = logLines(api).filter((l) => l.msg === 'database not reachable yet, retrying');
    expect(retries).toHaveLength(1);
    const fatal = api
      .output()
      .split('\n')
      .filter((l) => l && !l.startsWith('{'));
    expect(fatal).toEqual([
      `cannot use Postgres at 127.0.0.1:${closedPort}, database "appdb", user "app": connect ECONNREFUSED 127.0.0.1:${closedPort} (gave up after 2 attempts; DATABASE_CONNECT_ATTEMPTS)`,
    ]);
    expect(api.output()).not.toContain('db-secret');
  });

  it('a missing database or an unknown role fails at once, in Postgres’s words', async () => {
    const server = new URL(inject('postgresUrl'));
    const missing = startApi({
      BACKEND_PORT: String(await freePort()),
      DATABASE_URL: `postgres://postgres@${server.host}/no_such_db`,
    });
    const ghost = startApi({
      BACKEND_PORT: String(await freePort()),
      DATABASE_URL: `postgres://ghost:pw-secret@${server.host}/postgres`,
    });
    expect(await missing.exited).toBe(1);
    expect(await ghost.exited).toBe(1);
    expect(missing.output().trim()).toBe(
      `cannot use Postgres at ${server.host}, database "no_such_db", user "postgres": database "no_such_db" does not exist (3D000)`,
    );
    expect(ghost.output().trim()).toBe(
      `cannot use Postgres at ${server.host}, database "postgres", user "ghost": role "ghost" does not exist (28000)`,
    );
    expect(ghost.output()).not.toContain('pw-secret');
  });

  it('a wrong password fails at once and never shows the password', async () => {
    const guarded = await startPostgres({ password: 'right-password' });
    servers.push(guarded);
    const api = startApi({
      BACKEND_PORT: String(await freePort()),
      DATABASE_URL: `postgres://postgres:wrong-password@127.0.0.1:${guarded.port}/postgres`,
    });
    expect(await api.exited).toBe(1);
    expect(api.output().trim()).toBe(
      `cannot use Postgres at 127.0.0.1:${guarded.port}, database "postgres", user "postgres": password authentication failed for user "postgres" (28P01)`,
    );
    expect(api.output()).not.toContain('wrong-password');
  });

  it('a database that comes up while the API retries: the API starts and serves', async () => {
    const port = await freePort();
    const apiPort = await freePort();
    const api = startApi({
      BACKEND_PORT: String(apiPort),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
      DATABASE_CONNECT_ATTEMPTS: '30',
      LOG_LEVEL: 'info',
    });
    await waitForLog(api, 'database not reachable yet, retrying');
    servers.push(await startPostgres({ port }));
    await waitForHttp(`http://127.0.0.1:${apiPort}/health`);
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });
});

describe('npm run db:migrate', { timeout: PROCESS_HOOK_MS }, () => {
  const migrate = async (env: Record<string, string>) => {
    const npm = spawnProcess('npm', ['run', '-s', 'db:migrate'], env);
    return { code: await npm.exited, output: npm.output() };
  };

  it('migrates an empty database (again: nothing to do), and wants DATABASE_URL', async () => {
    const url = await createEmptyDatabaseUrl('migrate');
    for (let run = 0; run < 2; run++) {
      const { code, output } = await migrate({ DATABASE_URL: url });
      expect(code, output).toBe(0);
      expect(output).toContain('"msg":"migrations applied"');
    }
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ name: string }[]>`select table_name as name from information_schema.tables
        where table_schema = 'public' order by 1`;
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['login_guards', 'projects', 'refresh_tokens', 'users', 'workflow_queue', 'workflows']),
      );
    } finally {
      await sql.end();
    }
    const missing = await migrate({});
    expect(missing.code).toBe(1);
    expect(missing.output.trim()).toBe('config error: DATABASE_URL is required (the Postgres database to migrate)');
  });
});
