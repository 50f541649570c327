import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { OPENAPI_PATHS } from '../../src/docs/api-docs.routes';
import { openApiDocument } from '../helpers/openapi-responses';
import { readJson } from '../helpers/read-json';
import { createTestApp } from '../helpers/test-app';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const ERROR = '#/components/schemas/Error';
const JSON_RPC_ERROR = '#/components/schemas/JsonRpcError';

describe('GET /openapi.json and /docs', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let doc: z.output<typeof openApiDocument>;

  beforeAll(async () => {
    t = await createTestApp();
    const res = await t.app.request('/openapi.json');
    expect(res.status).toBe(200);
    doc = await readJson(res, openApiDocument);
  });

  afterAll(async () => {
    await t.close();
  });

  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('lists exactly the REST routes the app registered', () => {
    const registered = new Set<string>();
    for (const route of t.app.routes) {
      // Middleware entries (use: method ALL, wildcard paths) are not routes; the docs describe themselves.
      if (route.method === 'ALL' || route.path.includes('*') || OPENAPI_PATHS.includes(route.path)) continue;
      registered.add(`${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) if (METHODS.includes(method)) documented.add(`${method} ${path}`);
    }
    expect(registered.size).toBeGreaterThanOrEqual(28);
    expect([...documented].sort()).toEqual([...registered].sort());
  });

  it('documents auth and error responses on every operation', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.security, where).toBeDefined();
        expect(op.responses['500'], where).toBeDefined();
        const isPublic = op.security?.length === 0;
        if (!isPublic) expect(op.responses['401'], where).toBeDefined();
        for (const [status, response] of Object.entries(op.responses)) {
          // GET /health answers 503 with its health report, not an error body; /mcp has errors
          // its MCP transport answers (JSON-RPC bodies) besides the API's.
          if (Number(status) >= 400 && where !== 'GET /health') {
            const schema = response.content?.['application/json']?.schema as {
              $ref?: string;
              oneOf?: { $ref: string }[];
            };
            const refs = schema?.oneOf?.map((one) => one.$ref) ?? [schema?.$ref];
            const allowed = path === '/mcp' ? [ERROR, JSON_RPC_ERROR] : [ERROR];
            expect(refs.length, `${where} ${status}`).toBeGreaterThan(0);
            for (const ref of refs) expect(allowed, `${where} ${status}`).toContain(ref);
          }
        }
        const validated = (op.parameters?.length ?? 0) > 0 || op.requestBody !== undefined;
        if (validated) expect(op.responses['400'], where).toBeDefined();
      }
    }
    expect(doc.paths['/health/live']?.get?.security).toEqual([]);
    expect(doc.paths['/admin/users']?.get?.responses['403']).toBeDefined();
    expect(doc.paths['/metrics']?.get?.security).toEqual([{ metricsToken: [] }, { bearerAuth: [] }]);
  });

  it('describes /mcp as it is: real statuses per method, its headers, and the JSON-RPC error body', () => {
    const mcp = doc.paths['/mcp'] ?? {};
    const statuses = (method: string) => Object.keys(mcp[method]?.responses ?? {}).sort();
    expect(statuses('post')).toEqual(['200', '202', '400', '401', '404', '406', '413', '415', '429', '500', '503']);
    expect(statuses('get')).toEqual(['200', '400', '401', '404', '405', '406', '409', '500']);
    expect(statuses('delete')).toEqual(['200', '400', '401', '404', '405', '500']);
    const required = (method: string) =>
      Object.fromEntries((mcp[method]?.parameters ?? []).map((p) => [p.name, p.required]));
    expect(required('post')).toMatchObject({ Accept: true, 'Mcp-Session-Id': false, 'Mcp-Protocol-Version': false });
    expect(required('get')).toMatchObject({ Accept: true, 'Mcp-Session-Id': true, 'Last-Event-ID': false });
    expect(required('delete')).toMatchObject({ 'Mcp-Session-Id': true });
    const post = mcp.post as any;
    expect(Object.keys(post.responses['200'].content).sort()).toEqual(['application/json', 'text/event-stream']);
    expect(post.responses['200'].headers['Mcp-Session-Id']).toBeDefined();
    expect(post.responses['401'].headers['WWW-Authenticate']).toBeDefined();
    expect(post.responses['429'].headers['Retry-After']).toBeDefined();
    expect(post.responses['406'].content['application/json'].schema.$ref).toBe(JSON_RPC_ERROR);
    expect(doc.components.schemas.JsonRpcError.required).toEqual(['jsonrpc', 'id', 'error']);
    expect(doc.components.schemas.JsonRpcError.properties.error.required).toEqual(['code', 'message']);
    expect(doc.paths['/.well-known/oauth-protected-resource/mcp']?.get?.security).toEqual([]);
  });

  it('takes request schemas from the validators that check requests', () => {
    const register = doc.paths['/auth/register']?.post as any;
    const body = register.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['username', 'email', 'password']));
    const list = doc.paths['/projects']?.get as any;
    const limit = list.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query' });
    expect(limit.schema.maximum).toBe(100);
    const get = doc.paths['/projects/{id}']?.get as any;
    expect(get.parameters.find((p: { name: string }) => p.name === 'id')).toMatchObject({ in: 'path', required: true });
    const workflow = doc.paths['/api/workflows']?.post as any;
    expect(workflow.requestBody.content['application/json'].schema.properties.steps.maxItems).toBe(100);
  });

  it('documents the request constraints the validators enforce beyond plain JSON Schema', () => {
    const bodyOf = (path: string) => (doc.paths[path]?.post as any)?.requestBody.content['application/json'].schema;
    const register = bodyOf('/auth/register');
    expect(register.properties.password).toMatchObject({ minLength: 2, maxLength: 72 });
    expect(register.properties.password.description).toMatch(/8-72 bytes/);
    const login = bodyOf('/auth/login');
    expect(login.anyOf).toEqual([{ required: ['username'] }, { required: ['email'] }]);
    const project = bodyOf('/projects');
    const workflow = bodyOf('/api/workflows');
    for (const name of [project.properties.name, workflow.properties.name]) {
      expect(name).toMatchObject({ minLength: 1, maxLength: 200, pattern: '\\S' });
      expect(name.description).toMatch(/whitespace is removed/);
    }
  });

  it('documents the 503 (with Retry-After) any query can end in, and Retry-After on every 429', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        const selfContained = [
          '/health/live',
          '/.well-known/oauth-protected-resource',
          '/.well-known/oauth-protected-resource/mcp',
        ];
        if (!selfContained.includes(path) && path !== '/mcp') expect(op.responses['503'], where).toBeDefined();
        const limited = op.responses['429'] as { headers?: Record<string, { required?: boolean }> } | undefined;
        if (limited) expect(limited.headers?.['Retry-After'], where).toBeDefined();
      }
    }
  });

  it('serves Swagger UI at /docs with its assets from this server', async () => {
    const page = await t.app.request('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    const bundle = await t.app.request('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await t.app.request('/docs/assets/swagger-ui.css')).status).toBe(200);
    expect((await t.app.request('/docs/init.js')).status).toBe(200);
    expect((await t.app.request('/docs/assets/..%2Fpackage.json')).status).toBe(404);
  });
});
