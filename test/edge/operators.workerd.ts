import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('generates /openapi.json and serves /docs, its assets from the CDN', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/login', '/api/workflows/{id}/execute']));
    const page = await call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui-bundle.js');
    const asset = await fetch(`${edge.url}/docs/assets/swagger-ui-bundle.js`, { redirect: 'manual' });
    expect(asset.status).toBe(302);
    expect(asset.headers.get('location')).toMatch(/^https:\/\/cdn\.jsdelivr\.net\/npm\/swagger-ui-dist@5\//);
  });

  it('keeps /metrics admin-only even where nothing is collected', async () => {
    expect((await call('GET', '/metrics')).status).toBe(401);
  });
});
