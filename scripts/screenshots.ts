/**
 * `npm run screenshots`: headless Chromium pictures of /docs and /admin/queues for the README
 * (docs/screenshots/*.png). Starts its own Postgres and Redis (system binaries, as the tests
 * do), the real API and a worker, queues a few runs so Bull Board has jobs to show, and stops
 * everything afterwards. Needs /usr/bin/chromium (Debian: apt-get install -y chromium).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { freePort, type RunningServer, startPostgres, startRedis } from '../test/helpers/servers';
import { waitForHttp } from '../test/helpers/spawn-node';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT_DIR = join(process.cwd(), 'docs', 'screenshots');
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ADMIN = { username: 'ops_admin', email: 'ops_admin@example.com', password: 'screenshot-admin-password' };

function startEntry(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', process.env.SCREENSHOTS_VERBOSE ? 'inherit' : 'ignore', 'inherit'],
  });
  return child;
}

async function api<T>(base: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    process.exit(1);
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const servers: RunningServer[] = [];
  const children: ChildProcess[] = [];
  try {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    servers.push(postgres, redis);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      JWT_SECRET: crypto.randomUUID() + crypto.randomUUID(),
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      WORKER_CONCURRENCY: '1',
      WORKER_METRICS_PORT: '0',
    };
    children.push(
      startEntry('src/node/server.ts', {
        ...env,
        BACKEND_PORT: String(port),
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      }),
    );
    await waitForHttp(`${base}/health/live`);
    // The API runs migrations first; start the worker after it so they do not race.
    children.push(startEntry('src/node/worker.ts', env));

    const { accessToken } = await api<{ accessToken: string }>(base, 'POST', '/auth/login', undefined, {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const { workflow } = await api<{ workflow: { id: string } }>(base, 'POST', '/api/workflows', accessToken, {
      name: 'Nightly report',
      steps: [
        { id: 'wait', tool: 'sleep', arguments: { ms: 60_000 } },
        { id: 'say', tool: 'echo', arguments: { text: 'done' } },
      ],
    });
    // One worker slot: the first run is active, the others wait behind it.
    for (let i = 0; i < 4; i++) {
      await api(base, 'POST', `/api/workflows/${workflow.id}/execute`, accessToken, { input: { batch: i } });
    }
    await new Promise((r) => setTimeout(r, 2000));

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${base}/docs`);
      await page.waitForSelector('.swagger-ui .opblock', { timeout: 20_000 });
      await page.screenshot({ path: join(OUT_DIR, 'docs.png') });

      // ?token= is swapped for an HttpOnly cookie and stripped from the URL by a redirect.
      await page.goto(`${base}/admin/queues/queue/workflow-runs?status=waiting&token=${accessToken}`);
      await page.waitForSelector('text=jobData', { timeout: 20_000 });
      await page.waitForTimeout(1000);
      await page.screenshot({ path: join(OUT_DIR, 'admin-queues.png') });
      console.log(`screenshots written to ${OUT_DIR} (docs.png, admin-queues.png); page URL: ${page.url()}`);
    } finally {
      await browser.close();
    }
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
