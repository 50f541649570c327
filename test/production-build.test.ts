import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { build } from '../scripts/build';
import { jsonClient } from './helpers/json-client';
import { freePort, type RunningServer, startRedis } from './helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnNode, waitForHttp } from './helpers/spawn-node';
import { createEmptyDatabaseUrl, TEST_JWT_SECRET } from './helpers/test-app';
import { type CountingMcpServer, startCountingMcpServer } from './workflows/counting-mcp-server';

/**
 * The production image, without a Docker engine: `npm run build`'s output staged the way the
 * Dockerfile lays out /app (dist/, drizzle/, package.json, node_modules), and the API and the
 * worker started with the exact command lines docker-compose.yml gives them, on real Postgres,
 * Redis and an MCP server over Streamable HTTP. SIGTERM goes straight to node, as tini sends it.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command: string[] }>;
};
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

type Container = SpawnedNode;

/** Runs a compose service's command in the staged /app, node being the process itself. */
function startService(appDir: string, service: 'api' | 'worker', env: Record<string, string>): Container {
  const [command, ...args] = compose.services[service]?.command ?? [];
  expect(command).toBe('node');
  return spawnNode(args, env, appDir);
}

/** Resolves once a JSON log line with this `msg` appears. */
async function logged(container: Container, msg: string): Promise<void> {
  while (!container.output().includes(`"msg":"${msg}"`)) {
    if (container.child.exitCode !== null) throw new Error(`exited before "${msg}": ${container.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let appDir: string;
let externals: string[];
let redis: RunningServer;
let mcp: CountingMcpServer;
let databaseUrl: string;
let base: string;
let call: ReturnType<typeof jsonClient>;
let api: Container;
const containers: Container[] = [];

beforeAll(async () => {
  const stage = mkdtempSync(join(tmpdir(), 'wfp-image-'));
  appDir = join(stage, 'app');
  const metafile = await build({ outdir: join(appDir, 'dist') });
  externals = [
    ...new Set(
      Object.values(metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path)),
    ),
  ];
  copyFileSync(join(root, 'package.json'), join(appDir, 'package.json'));
  symlinkSync(join(root, 'drizzle'), join(appDir, 'drizzle'));
  symlinkSync(join(root, 'node_modules'), join(appDir, 'node_modules'));

  databaseUrl = await createEmptyDatabaseUrl('img');
  [redis, mcp] = await Promise.all([startRedis(), startCountingMcpServer()]);

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  call = jsonClient(base);
  api = startService(appDir, 'api', { ...commonEnv(), BACKEND_PORT: String(port) });
  containers.push(api);
  await waitForHttp(`${base}/health/live`);
}, PROCESS_HOOK_MS);

afterAll(async () => {
  for (const c of containers) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await mcp?.close();
  await redis?.stop();
  if (appDir) rmSync(join(appDir, '..'), { recursive: true, force: true });
});

function commonEnv(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    MCP_URL: mcp.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'info',
    WORKER_METRICS_PORT: '0',
    RUN_LEASE_MS: '3000',
    RUN_HEARTBEAT_MS: '200',
  };
}

async function waitForRun(token: string, runId: string, until: (run: any) => boolean): Promise<any> {
  for (;;) {
    const { body } = await call(`/api/workflows/runs/${runId}`, token);
    if (until(body.run)) return body.run;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('production build (the image, without Docker)', () => {
  it('imports only production dependencies and no TypeScript at run time', () => {
    expect(externals.length).toBeGreaterThan(0);
    const packageOf = (path: string) => path.match(/^(@[^/]+\/[^/]+|[^/]+)/)?.[1] ?? path;
    const missing = externals
      .filter((path) => !path.startsWith('node:'))
      .map(packageOf)
      .filter((name) => !pkg.dependencies[name]);
    expect(missing).toEqual([]);
    expect(externals.filter((path) => /\.(ts|mts|cts)$/.test(path))).toEqual([]);
  });

  it('SIGTERM to the built worker drains it: a running job finishes, another is released, exit 0', async () => {
    const user = await call('/auth/register', undefined, {
      username: 'imageuser',
      email: 'image@example.com',
      password: 'correct-horse-battery',
    });
    expect(user.status).toBe(201);
    const token = user.body.accessToken as string;
    const workflow = await call('/api/workflows', token, {
      name: 'drain',
      steps: [
        { id: 'first', tool: 'count' },
        { id: 'nap', tool: 'sleep', arguments: { ms: 1500 } },
      ],
    });
    expect(workflow.status).toBe(201);
    const workflowId = workflow.body.workflow.id as string;

    /** A built worker takes a run; SIGTERM arrives while its second step sleeps. */
    const sigtermMidRun = async (deadlineMs: string) => {
      const worker = startService(appDir, 'worker', { ...commonEnv(), WORKER_SHUTDOWN_TIMEOUT_MS: deadlineMs });
      containers.push(worker);
      await logged(worker, 'worker started');
      const { id } = (await call(`/api/workflows/${workflowId}/execute`, token, {})).body.run;
      await waitForRun(token, id, (run) => run.steps[1].status === 'running');
      worker.child.kill('SIGTERM');
      const exitCode = await worker.exited;
      return { exitCode, output: worker.output(), run: await waitForRun(token, id, () => true) };
    };

    // A deadline longer than the step: the worker waits for the run to finish, then exits 0.
    const patient = await sigtermMidRun('15000');
    expect(patient.exitCode).toBe(0);
    expect(patient.output).toContain('"msg":"worker shutting down"');
    expect(patient.output).toContain('"msg":"worker stopped"');
    expect(patient.run.status).toBe('completed');

    // A deadline shorter than the step: the run goes back to the queue with its checkpoint.
    const hasty = await sigtermMidRun('200');
    expect(hasty.exitCode).toBe(0);
    expect(hasty.output).toContain('"msg":"run released for another executor"');
    expect(hasty.run.status).toBe('queued');
    expect(hasty.run.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'pending']);
    expect(mcp.callsOf(hasty.run.id, 'first')).toBe(1);
  });

  it('SIGTERM to the built API: it shuts down and exits 0', async () => {
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('"msg":"shutting down"');
  });
});
