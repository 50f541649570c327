import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config/config';
import { parseDurationSeconds } from '../src/config/duration';

describe('config', () => {
  it('has working defaults with no environment at all', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      nodeEnv: 'development',
      accessTtlSeconds: 900,
      refreshTtlSeconds: 30 * 86400,
      corsOrigins: [],
      trustProxyHops: 0,
      bcryptCost: 10,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.jwtSecret).toBeUndefined();
  });

  it('reads BACKEND_PORT before PORT', () => {
    expect(loadConfig({ PORT: '5000' }).port).toBe(5000);
    expect(loadConfig({ PORT: '5000', BACKEND_PORT: '6000' }).port).toBe(6000);
  });

  it('parses lists, durations, proxy hops and the admin triple', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://a.example, https://b.example ,',
      JWT_ACCESS_TTL: '5m',
      JWT_REFRESH_TTL: '7d',
      TRUST_PROXY: '2',
      ADMIN_USERNAME: 'boss',
      ADMIN_EMAIL: 'boss@example.com',
      ADMIN_PASSWORD: 'boss-password',
    });
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.accessTtlSeconds).toBe(300);
    expect(config.refreshTtlSeconds).toBe(7 * 86400);
    expect(config.trustProxyHops).toBe(2);
    expect(config.admin).toEqual({ username: 'boss', email: 'boss@example.com', password: 'boss-password' });
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxyHops).toBe(1);
  });

  it('names every bad variable, one problem each', () => {
    try {
      loadConfig({
        NODE_ENV: 'production',
        BACKEND_PORT: '70000',
        REDIS_URL: 'http://nope',
        JWT_ACCESS_TTL: 'forever',
        MCP_URL: 'ftp://x',
        ADMIN_USERNAME: 'only-one',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['BACKEND_PORT', 'REDIS_URL', 'JWT_ACCESS_TTL', 'MCP_URL', 'JWT_SECRET', 'ADMIN_USERNAME']) {
        expect(problems).toContain(name);
      }
    }
  });

  it('reads the runner settings with every other variable, their problems reported together', () => {
    expect(loadConfig({}).runner).toMatchObject({
      queueName: 'workflow-runs',
      bullmqPrefix: 'bull',
      concurrency: 8,
      leaseMs: 30_000,
      heartbeatMs: 1000,
      enqueueTimeoutMs: 2000,
      keepCompletedJobs: 1000,
    });
    expect(loadConfig({ WORKER_CONCURRENCY: '3', RUN_LEASE_MS: '9000', RUN_HEARTBEAT_MS: '3000' }).runner).toMatchObject({
      concurrency: 3,
      leaseMs: 9000,
      heartbeatMs: 3000,
    });
    let problems: string[] = [];
    try {
      loadConfig({ BACKEND_PORT: '70000', WORKER_CONCURRENCY: '0', WORKFLOW_QUEUE_NAME: 'a b', ENQUEUE_TIMEOUT_MS: 'soon' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    for (const name of ['BACKEND_PORT', 'WORKER_CONCURRENCY', 'WORKFLOW_QUEUE_NAME', 'ENQUEUE_TIMEOUT_MS']) {
      expect(problems.some((problem) => problem.startsWith(name)), name).toBe(true);
    }
    expect(() => loadConfig({ RUN_LEASE_MS: '2000', RUN_HEARTBEAT_MS: '1000' })).toThrow(
      /RUN_HEARTBEAT_MS must be at most a third of RUN_LEASE_MS/,
    );
  });

  it("is documented: the README's Configuration section lists every variable loadConfig reads", () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## Limits'));
    expect(CONFIG_VARIABLES.filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
  });

  it('requires a 32-byte JWT secret in production only', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(31) })).toThrow(/at least 32 bytes/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwtSecret).toHaveLength(32);
  });

  it('parses durations', () => {
    expect(parseDurationSeconds('90')).toBe(90);
    expect(parseDurationSeconds('15m')).toBe(900);
    expect(parseDurationSeconds('2h')).toBe(7200);
    expect(parseDurationSeconds('0')).toBeUndefined();
    expect(parseDurationSeconds('1w')).toBeUndefined();
    expect(parseDurationSeconds('-5m')).toBeUndefined();
  });
});
