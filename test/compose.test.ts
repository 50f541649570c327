import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config/config';
import { ENTRY_POINTS } from '../scripts/build';
import { freePort } from './helpers/servers';

// There is no Docker engine where the tests run: this checks docker-compose.yml, the
// Dockerfile and .dockerignore against the code they deploy instead.

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(`${root}/${file}`, 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  init?: boolean;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
  restart?: string;
  container_name?: string;
  healthcheck?: { test: string | string[] };
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const { services } = compose;
const KNOWN_VARIABLES = new Set(CONFIG_VARIABLES);
const APP_SERVICES = ['api', 'worker'] as const;

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`, for one value. */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (match, name, colon, op, arg) => {
    if (match === '$$') return '$';
    const current = vars[name];
    const missing = current === undefined || (colon === ':' && current === '');
    if (op === '-') return missing ? arg : (current as string);
    if (op === '?' && missing) throw new Error(`${name}: ${arg}`);
    return current ?? '';
  });
}

function environmentOf(service: Service, vars: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), vars)]),
  );
}

/**
 * A command that runs a compiled entry point with node itself as the process (`node
 * dist/node/X.js`, exec form), never through npm or a shell, which would not pass SIGTERM on:
 * the source entry it was built from, or undefined.
 */
function builtEntry(command: string | string[] | undefined): string | undefined {
  if (!Array.isArray(command) || command.length !== 2 || command[0] !== 'node') return undefined;
  const entry = /^dist\/(node\/[\w-]+)\.js$/.exec(command[1] ?? '')?.[1];
  const source = entry && `src/${entry}.ts`;
  return source && ENTRY_POINTS.includes(source) ? source : undefined;
}

/** Dockerfile instructions with line continuations joined; comments dropped. */
function dockerfileInstructions(): { keyword: string; args: string }[] {
  const joined = read('Dockerfile')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** Docker's rule: the last pattern matching the path or one of its parent directories decides; `!` re-includes. */
function dockerIgnores(patterns: string[], path: string): boolean {
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = new RegExp(
      `^${(negated ? pattern.slice(1) : pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`,
    );
    if (parents.some((p) => glob.test(p))) ignored = !negated;
  }
  return ignored;
}

function healthcheckCommand(test: string | string[]): string[] {
  const words = Array.isArray(test) ? test : ['CMD-SHELL', test];
  expect(words[0]).toBe('CMD');
  return words.slice(1);
}

/** Runs a container health-check command here, against a stub server; resolves with its exit code. */
function runHealthcheck(command: string[], env: Record<string, string>): Promise<number> {
  const [file, ...args] = command;
  return new Promise((resolve) => {
    const child = execFile(file === 'node' ? process.execPath : (file as string), args, {
      env: { PATH: process.env.PATH, ...env },
      timeout: 10_000,
    });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

async function withStub<T>(path: string, status: number, fn: (port: number) => Promise<T>): Promise<T> {
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === path ? status : 404, { 'content-type': 'application/json' }).end('{}');
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    return await fn(port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('docker-compose.yml', () => {
  it('has postgres, redis, api and worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
  });

  it('runs node on the compiled entry points as the process, behind an init that forwards signals', () => {
    expect(builtEntry(services.api?.command)).toBe('src/node/server.ts');
    expect(builtEntry(services.worker?.command)).toBe('src/node/worker.ts');
    for (const name of APP_SERVICES) {
      expect(services[name]?.init, `${name} init`).toBe(true);
      expect(existsSync(`${root}/${builtEntry(services[name]?.command)}`)).toBe(true);
    }
  });

  it('sets on api and worker only variables the code reads', () => {
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(services[name]?.environment ?? {}).filter((v) => !KNOWN_VARIABLES.has(v));
      expect(unknown, `${name}: variables config.ts does not know`).toEqual([]);
    }
  });

  it('gives api and worker an environment the config accepts, and requires JWT_SECRET', () => {
    const vars = { JWT_SECRET: 'a'.repeat(64) };
    for (const name of APP_SERVICES) {
      const env = environmentOf(services[name] as Service, vars);
      const config = loadConfig(env);
      expect(config.nodeEnv).toBe('production');
      expect(config.databaseUrl).toMatch(/^postgres:\/\/.+@postgres:5432\//);
      expect(config.redisUrl).toBe('redis://redis:6379');
      expect(config.jwtSecret).toBe(vars.JWT_SECRET);
      expect(() => environmentOf(services[name] as Service, {}), name).toThrow(/JWT_SECRET/);
    }
    const api = loadConfig(environmentOf(services.api as Service, vars));
    expect(api.port).toBe(4000);
    expect(services.api?.ports?.some((p) => /:4000$/.test(interpolate(p, {})))).toBe(true);
    const worker = environmentOf(services.worker as Service, { ...vars, WORKER_CONCURRENCY: '3' });
    expect(loadConfig(worker).runner.concurrency).toBe(3);
  });

  it('keeps Redis data (AOF) and never evicts BullMQ keys', () => {
    const redis = services.redis as Service;
    expect(redis.image).toMatch(/^redis:7/);
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
    expect(command).toMatch(/--appendonly\s+yes/);
    expect(command).toMatch(/--maxmemory-policy\s+noeviction/);
    expect(redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    expect(JSON.stringify(redis.healthcheck?.test)).toContain('redis-cli');
  });

  it('keeps Postgres data in a volume and reports readiness with pg_isready', () => {
    const postgres = services.postgres as Service;
    expect(postgres.image).toMatch(/^postgres:16/);
    const volume = postgres.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(':')[0]);
    expect(JSON.stringify(postgres.healthcheck?.test)).toContain('pg_isready');
  });

  it('starts api and worker after healthy dependencies, restarts them, and checks their health', () => {
    for (const name of APP_SERVICES) {
      const service = services[name] as Service;
      expect(service.depends_on?.postgres?.condition, name).toBe('service_healthy');
      expect(service.depends_on?.redis?.condition, name).toBe('service_healthy');
      expect(['always', 'unless-stopped', 'on-failure'], name).toContain(service.restart);
      expect(service.healthcheck?.test, name).toBeDefined();
      expect(service.build, name).toBe('.');
    }
  });

  it('lets the worker scale: no container_name, no published ports', () => {
    expect(services.worker?.container_name).toBeUndefined();
    expect(services.worker?.ports).toBeUndefined();
  });

  it('api and worker health checks pass against a healthy server and fail otherwise', async () => {
    const cases = [
      { service: 'api', path: '/health/live', portVariable: 'BACKEND_PORT' },
      { service: 'worker', path: '/health', portVariable: 'WORKER_METRICS_PORT' },
    ] as const;
    for (const { service, path, portVariable } of cases) {
      const command = healthcheckCommand(services[service]?.healthcheck?.test ?? []);
      expect(await withStub(path, 200, (port) => runHealthcheck(command, { [portVariable]: String(port) }))).toBe(0);
      expect(await withStub(path, 503, (port) => runHealthcheck(command, { [portVariable]: String(port) }))).not.toBe(
        0,
      );
    }
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions();
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1) as (typeof instructions)[number]));
  const last = (keyword: string) => finalStage.filter((i) => i.keyword === keyword).at(-1)?.args;

  it('is a multi-stage build on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.args).toMatch(/^node:20-bookworm-slim\b/);
    expect(instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args))).toBe(true);
    expect(finalStage.some((i) => i.keyword === 'COPY' && i.args.includes('--from='))).toBe(true);
  });

  it('runs as the non-root node user in production mode', () => {
    expect(last('USER')).toBe('node');
    expect(finalStage.some((i) => i.keyword === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
    expect(last('EXPOSE')).toBe('4000');
  });

  it('runs the compiled server with node, and nothing that runs TypeScript ships', () => {
    const cmd = JSON.parse(last('CMD') ?? '[]') as string[];
    expect(cmd).toEqual(services.api?.command);
    expect(builtEntry(cmd)).toBe('src/node/server.ts');
    const buildStage = instructions.slice(0, instructions.indexOf(stages.at(-1) as (typeof instructions)[number]));
    expect(buildStage.some((i) => i.keyword === 'RUN' && /\bnpm run build\b.*npm prune --omit=dev/.test(i.args))).toBe(
      true,
    );
    expect(finalStage.some((i) => i.keyword === 'COPY' && /--from=\S+ \/app\/dist\b/.test(i.args))).toBe(true);
    expect(finalStage.some((i) => i.keyword === 'COPY' && /^src\b/.test(i.args))).toBe(false);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    for (const runner of ['tsx', 'ts-node', 'esbuild', 'typescript'])
      expect(pkg.dependencies[runner], runner).toBeUndefined();
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const name of ['node_modules', '.git', '.data']) expect(patterns).toContain(name);
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
      const sources = copy.args
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) {
        expect(existsSync(`${root}/${source}`), source).toBe(true);
        expect(dockerIgnores(patterns, source), source).toBe(false);
      }
    }
  });

  it('has a HEALTHCHECK on /health/live that passes against a healthy server and fails otherwise', async () => {
    const healthcheck = last('HEALTHCHECK') ?? '';
    const json = healthcheck.slice(healthcheck.indexOf('CMD ') + 4);
    const command = JSON.parse(json) as string[];
    expect(command.join(' ')).toContain('/health/live');
    expect(await withStub('/health/live', 200, (port) => runHealthcheck(command, { BACKEND_PORT: String(port) }))).toBe(
      0,
    );
    expect(
      await withStub('/health/live', 503, (port) => runHealthcheck(command, { BACKEND_PORT: String(port) })),
    ).not.toBe(0);
    expect(await runHealthcheck(command, { BACKEND_PORT: String(await freePort()) })).not.toBe(0);
  });
});
