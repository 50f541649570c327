import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/config';

// Complements test/compose.test.ts with what the operators' issue adds: every service has a
// health check and a restart policy, the worker's metrics port is the one its health check
// and the config agree on, and the production image carries no dev dependencies.

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(`${root}/${file}`, 'utf8');

interface Service {
  environment?: Record<string, string | number | null>;
  ports?: string[];
  restart?: string;
  healthcheck?: { test: string | string[]; interval?: string; retries?: number };
}

const { services } = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };

/** `${VAR:-default}` → default (no variables set), `${VAR:?...}` → a placeholder. */
function withDefaults(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_m, name, op, arg) =>
    op === '-' ? arg : name === 'JWT_SECRET' ? 'x'.repeat(64) : '',
  );
}

describe('docker-compose.yml for operators', () => {
  it('gives every service a health check and a restart policy', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      expect(['always', 'unless-stopped', 'on-failure'], `${name} restart`).toContain(service.restart);
    }
  });

  it("checks the worker's health on the metrics port its config listens on, which is not published", () => {
    const worker = services.worker as Service;
    const env = Object.fromEntries(
      Object.entries(worker.environment ?? {}).map(([k, v]) => [k, withDefaults(String(v ?? ''))]),
    );
    const config = loadConfig(env);
    expect(config.workerMetricsPort).toBeGreaterThan(0);
    expect(JSON.stringify(worker.healthcheck?.test)).toContain('WORKER_METRICS_PORT');
    expect(JSON.stringify(worker.healthcheck?.test)).toContain('/health');
    expect(worker.ports).toBeUndefined();
  });

  it('passes METRICS_TOKEN to the api and the worker, empty (admin tokens only) unless set', () => {
    for (const name of ['api', 'worker']) {
      const value = services[name]?.environment?.METRICS_TOKEN;
      expect(value, name).toBeDefined();
      expect(loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: withDefaults(String(value)) }).metricsToken).toBeUndefined();
    }
  });
});

describe('Dockerfile image size', () => {
  const dockerfile = read('Dockerfile').replace(/\\\n/g, ' ');

  it('ships production dependencies only, from a stage that pruned the dev ones', () => {
    const prune = /npm (prune|ci)\b[^\n]*--omit=dev/.exec(dockerfile);
    expect(prune, 'npm prune/ci --omit=dev').not.toBeNull();
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/COPY --from=\S+ \S*node_modules/);
    expect(finalStage).not.toMatch(/npm (ci|install)\b(?![^\n]*--omit=dev)/);
    // What the operators' pages need at run time is a production dependency, the browser tools are not.
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dep of [
      'prom-client',
      '@bull-board/api',
      '@bull-board/hono',
      'hono-openapi',
      'swagger-ui-dist',
      'pino',
    ]) {
      expect(pkg.dependencies[dep], dep).toBeDefined();
    }
    for (const dep of ['playwright-core', '@apidevtools/swagger-parser'])
      expect(pkg.devDependencies[dep], dep).toBeDefined();
  });

  it('leaves tests, benchmarks and screenshots out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const path of ['test', 'bench', 'docs', 'scripts']) expect(ignored, path).toContain(path);
  });
});
