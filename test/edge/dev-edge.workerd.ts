import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from '../helpers/servers';
import { waitForHttp } from '../helpers/spawn-node';
import { TEST_JWT_SECRET } from '../helpers/test-app';
import { REPO_ROOT } from './edge-build';
import { edgeClient } from './edge-worker';
import { WsClient } from './ws-client';

/**
 * The README's local edge, as a fresh clone runs it: an empty database migrated by
 * `npm run db:migrate`, then `npm run dev:edge` (wrangler dev) with the settings of
 * `.dev.vars.example` — register, log in, /docs with its files, a /ws round trip — and nothing
 * in wrangler's output that looks like a crash (it used to print stack traces when it could not
 * reach Cloudflare for the `Request.cf` object).
 */

let dev: ChildProcess | undefined;
let output = '';
let scratch: string;
let databaseName: string;
let url: string;

beforeAll(async () => {
  databaseName = `dev_edge_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${databaseName}`);
  await admin.end();
  const databaseUrl = inject('postgresUrl').replace(/\/postgres$/, `/${databaseName}`);

  const migrate = await promisify(execFile)('npm', ['run', '-s', 'db:migrate'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    timeout: 60_000,
  });
  expect(migrate.stdout).toContain('migrations applied');

  scratch = mkdtempSync(join(tmpdir(), 'wfp-dev-edge-'));
  const envFile = join(scratch, '.dev.vars');
  writeFileSync(envFile, `DATABASE_URL=${databaseUrl}\nJWT_SECRET=${TEST_JWT_SECRET}\nNODE_ENV=development\n`);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // As from a shell: vitest's NODE_ENV=test would make Miniflare skip what a developer's run does.
  const { NODE_ENV: _, ...shell } = process.env;
  // Its own process group, so the test ends wrangler and its workerd together.
  dev = spawn(
    'npm',
    [
      'run',
      'dev:edge',
      '--',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--env-file',
      envFile,
      '--persist-to',
      join(scratch, 'state'),
      '--show-interactive-dev-session=false',
    ],
    { cwd: REPO_ROOT, env: { ...shell, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  dev.stdout?.on('data', (d) => {
    output += d;
  });
  dev.stderr?.on('data', (d) => {
    output += d;
  });
  await waitForHttp(`${url}/health/live`, 90_000).catch((error) => {
    throw new Error(`${error.message}\n${output}`);
  });
}, 150_000);

afterAll(async () => {
  if (dev?.pid) {
    const exited = new Promise((resolve) => dev?.once('exit', resolve));
    process.kill(-dev.pid, 'SIGTERM');
    await exited;
  }
  const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin.end();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('serves the API, /docs and /ws from `npm run dev:edge` on a database `npm run db:migrate` set up', async () => {
  const { call, register } = edgeClient(url);
  const alice = await register();
  const login = await call('POST', '/auth/login', { username: alice.username, password: 'correct-horse-battery' });
  expect(login.status).toBe(200);
  expect((await call('GET', '/profile', undefined, alice.auth)).status).toBe(200);

  expect((await call('GET', '/docs')).status).toBe(200);
  const bundle = await call('GET', '/docs/assets/swagger-ui-bundle.js');
  expect(bundle.status).toBe(200);
  expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  await bundle.arrayBuffer();

  const socket = await WsClient.connect(url, alice.accessToken);
  try {
    await socket.subscribe('room:dev');
    socket.send({ event: 'chat', channel: 'room:dev', payload: { text: 'local' } });
    expect((await socket.next((f) => f.event === 'chat')).payload.text).toBe('local');
  } finally {
    socket.close();
  }

  expect(output).toContain('Ready on');
  expect(output, 'no stack traces in wrangler dev output').not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(output).not.toMatch(/Unable to fetch the `Request.cf` object/);
});
