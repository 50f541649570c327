import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real Postgres and Redis servers for the tests, started from the system binaries that
 * .ci/run installs with apt (postgresql, redis-server). They listen on 127.0.0.1 only, on
 * free ports, with data in a temp dir that is removed on stop.
 */

/** A TCP port on 127.0.0.1 nothing listens on (it was free a moment ago): the one helper every test uses. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error('PostgreSQL server binaries not found: apt-get install -y postgresql (see .ci/run)');
}

const isRoot = process.getuid?.() === 0;

/** initdb and postgres refuse to run as root; as root we run them as the `postgres` user. */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface RunningServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * A Postgres server of its own; `password` makes the `postgres` user need it (scram-sha-256)
 * instead of trusting every connection, `port` picks the port.
 */
export async function startPostgres(options: { password?: string; port?: number } = {}): Promise<RunningServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'wfp-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  if (isRoot) execFileSync('chown', ['postgres', dir]);
  const auth = ['--auth=trust'];
  if (options.password) {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, options.password);
    if (isRoot) execFileSync('chown', ['postgres', pwfile]);
    auth.splice(0, 1, '--auth=scram-sha-256', `--pwfile=${pwfile}`);
  }
  const [initCmd, initArgs] = asPostgresUser(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    ...auth,
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = options.port ?? (await freePort());
  const credentials = options.password ? `postgres:${encodeURIComponent(options.password)}` : 'postgres';
  const [cmd, args] = asPostgresUser(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=400',
  ]);
  const child = spawn(cmd, args, { stdio: 'ignore' });
  await waitFor('postgres', async () => {
    if (!(await canConnect(port))) return false;
    const postgres = (await import('postgres')).default;
    const sql = postgres(`postgres://${credentials}@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end();
    }
  });
  return {
    url: `postgres://${credentials}@127.0.0.1:${port}/postgres`,
    port,
    process: child,
    async stop() {
      await stopProcess(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRedis(options: { port?: number; appendOnly?: boolean } = {}): Promise<RunningServer> {
  if (
    !existsSync('/usr/bin/redis-server') &&
    !process.env.PATH?.split(':').some((p) => existsSync(join(p, 'redis-server')))
  ) {
    throw new Error('redis-server not found: apt-get install -y redis-server (see .ci/run)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'wfp-redis-'));
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      options.appendOnly ? 'yes' : 'no',
      '--dir',
      dir,
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  await waitFor('redis', () => canConnect(port));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
