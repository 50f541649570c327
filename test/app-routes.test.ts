import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../src/deps';
import type { McpWebSocketTransport } from '../src/mcp-gateway/mcp-websocket.routes';
import type { RealtimeUser } from '../src/realtime/channel-acl';
import type { ChannelMessage } from '../src/realtime/channel-hub';
import { signEvent } from '../src/realtime/event-signature';
import { createTestApp } from './helpers/test-app';

const SECRET = 'edge-events-secret-that-is-32-bytes-or-more';

/**
 * createApp mounts every route of the API, the WebSocket ones, /internal/events and
 * /admin/queues included; a runtime only hands over the parts those routes need (deps).
 */
describe('createApp mounts the runtime routes from deps', () => {
  const upgraded: string[] = [];
  const handedOver: RealtimeUser[] = [];
  const published: Array<{ messages: ChannelMessage[]; batchId: string }> = [];
  // A runtime's upgrade that answers instead of switching protocols (app.request has no socket).
  const webSockets: McpWebSocketTransport = {
    upgrade: () => async (c, next) => {
      if (c.req.header('upgrade') !== 'websocket') return next();
      upgraded.push(c.req.path);
      return c.text('upgraded');
    },
  };
  const withRuntime: Partial<AppDeps> = {
    webSockets,
    serverEvents: {
      secret: SECRET,
      publish: async (messages, batchId) => {
        published.push({ messages, batchId });
      },
    },
    queueDashboard: new Hono().get('/', (c) => c.text('dashboard')),
  };
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let hosted: Awaited<ReturnType<typeof createTestApp>>;
  let bare: Awaited<ReturnType<typeof createTestApp>>;
  let user: Awaited<ReturnType<typeof t.registerUser>>;

  beforeAll(async () => {
    t = await createTestApp({ overrides: withRuntime });
    hosted = await createTestApp({
      db: t.db,
      overrides: {
        realtimeHost: {
          connect: async (_request, realtimeUser) => {
            handedOver.push(realtimeUser);
            return new Response('handed over');
          },
        },
      },
    });
    bare = await createTestApp({ db: t.db });
    user = await t.registerUser();
  });

  afterAll(async () => {
    await hosted.close();
    await bare.close();
    await t.close();
  });

  const upgrade = { upgrade: 'websocket' };

  it('lists /ws, the /mcp WebSocket, /internal/events and /admin/queues among its routes', () => {
    const routes = t.app.routes.map((r) => `${r.method} ${r.path}`);
    for (const route of ['GET /ws', 'POST /internal/events', 'GET /admin/queues']) expect(routes).toContain(route);
    const bareRoutes = bare.app.routes.map((r) => `${r.method} ${r.path}`);
    for (const route of ['GET /ws', 'POST /internal/events', 'GET /admin/queues'])
      expect(bareRoutes).not.toContain(route);
    // The WebSocket side of /mcp comes after Streamable HTTP's handlers.
    const getMcp = (list: string[]) => list.filter((r) => r === 'GET /mcp').length;
    expect(getMcp(routes)).toBeGreaterThan(getMcp(bareRoutes));
  });

  it('upgrades /ws and /mcp through deps.webSockets, after authentication', async () => {
    expect((await t.app.request('/ws', { headers: upgrade })).status).toBe(401);
    expect((await t.app.request('/mcp', { headers: upgrade })).status).toBe(401);
    expect(upgraded).toEqual([]);
    const ws = await t.app.request(`/ws?token=${user.accessToken}`, { headers: upgrade });
    expect(await ws.text()).toBe('upgraded');
    const mcp = await t.app.request('/mcp', { headers: { ...upgrade, ...user.auth } });
    expect(await mcp.text()).toBe('upgraded');
    expect(upgraded).toEqual(['/ws', '/mcp']);
    expect((await t.app.request('/ws', { headers: user.auth })).status).toBe(426);
  });

  it('hands an authenticated /ws upgrade to deps.realtimeHost with the user and token expiry', async () => {
    expect((await hosted.app.request('/ws', { headers: upgrade })).status).toBe(401);
    expect((await hosted.app.request('/ws', { headers: user.auth })).status).toBe(426);
    const res = await hosted.app.request('/ws', { headers: { ...upgrade, ...user.auth } });
    expect(await res.text()).toBe('handed over');
    expect(handedOver).toHaveLength(1);
    expect(handedOver[0]).toMatchObject({ id: user.user.id, role: 'user' });
    expect(handedOver[0]?.expiresAt).toBeGreaterThan(Date.now());
  });

  it('publishes signed /internal/events through deps.serverEvents; 404 without them', async () => {
    const body = JSON.stringify({
      messages: [{ event: 'workflow-status', channel: 'workflow', payload: { runId: 'r1' } }],
    });
    const post = (app: typeof t.app, headers: Record<string, string>) =>
      app.request('/internal/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    expect((await post(t.app, {})).status).toBe(401);
    const signed = await signEvent(SECRET, body);
    const res = await post(t.app, signed);
    expect(res.status).toBe(202);
    expect(published).toHaveLength(1);
    expect(published[0]?.messages[0]?.payload).toEqual({ runId: 'r1' });
    expect((await post(bare.app, signed)).status).toBe(404);
  });

  it('answers a signed but invalid /internal/events batch with the one 400 shape of every route', async () => {
    const post = async (body: string) =>
      t.app.request('/internal/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await signEvent(SECRET, body)) },
        body,
      });
    const invalid = await post(JSON.stringify({ messages: [{ event: 7, channel: 'workflow', payload: {} }] }));
    expect(invalid.status).toBe(400);
    const { error } = (await invalid.json()) as { error: { code: string; message: string; details: unknown[] } };
    expect(error.code).toBe('validation_error');
    expect(error.message).toMatch(/^Invalid body: messages\.0\.event: /);
    expect(error.details.length).toBeGreaterThan(0);
    for (const issue of error.details) {
      expect(Object.keys(issue as object).sort()).toEqual(['code', 'message', 'path']);
      expect(issue).toMatchObject({ path: expect.any(String), code: expect.any(String), message: expect.any(String) });
    }
    const malformed = await post('{not json');
    expect(malformed.status).toBe(400);
    const validated = await t.app.request('/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(validated.status).toBe(400);
    const execute = await t.app.request(`/api/workflows/${crypto.randomUUID()}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...user.auth },
      body: '{not json',
    });
    expect(execute.status).toBe(400);
    // Word for word what a validated route answers, on the routes that read their body by hand too.
    const answer = await validated.json();
    expect(await malformed.json()).toEqual(answer);
    expect(await execute.json()).toEqual(answer);
  });

  it('serves deps.queueDashboard at /admin/queues to admins only', async () => {
    expect((await t.app.request('/admin/queues')).status).toBe(401);
    expect((await t.app.request('/admin/queues', { headers: user.auth })).status).toBe(403);
    const admin = await t.registerUser('admin');
    const res = await t.app.request('/admin/queues', { headers: admin.auth });
    expect(await res.text()).toBe('dashboard');
    expect((await bare.app.request('/admin/queues', { headers: admin.auth })).status).toBe(404);
  });
});
