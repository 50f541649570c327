import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../helpers/openapi-responses';
import { readJson } from '../helpers/read-json';
import { createTestDatabase, TEST_JWT_SECRET } from '../helpers/test-app';
import { type EdgeWorker, edgeClient, startEdgeWorker } from './edge-worker';

let edge: EdgeWorker;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let call: ReturnType<typeof edgeClient>['call'];

beforeAll(async () => {
  database = await createTestDatabase();
  edge = await startEdgeWorker({ JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: database.url });
  ({ call } = edgeClient(edge.url));
});

afterAll(async () => {
  await edge?.close();
  await database?.close();
});

describe('operator endpoints on the Workers runtime', () => {
  it('generates /openapi.json and serves /docs, its Swagger UI files from the static assets (no CDN)', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = await readJson(res, openApiDocument);
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/login', '/api/workflows/{id}/execute']));
    const page = await call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('docs/assets/swagger-ui-bundle.js');
    const css = await call('GET', '/docs/assets/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('x-content-type-options')).toBe('nosniff');
    const installed = readFileSync(createRequire(import.meta.url).resolve('swagger-ui-dist/swagger-ui.css'));
    expect(Buffer.from(await css.arrayBuffer()).equals(installed)).toBe(true);
    const script = await fetch(`${edge.url}/docs/assets/swagger-ui-bundle.js`, { redirect: 'manual' });
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await call('GET', '/docs/assets/index.html')).status).toBe(404);
  });

  it('keeps /metrics admin-only even where nothing is collected', async () => {
    expect((await call('GET', '/metrics')).status).toBe(401);
  });
});
