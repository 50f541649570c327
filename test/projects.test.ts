import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/test-app';

let t: Awaited<ReturnType<typeof createTestApp>>;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('projects', () => {
  it('full lifecycle for the owner', async () => {
    const u = await t.registerUser();
    const created = await t.json('POST', '/projects', { name: '  Demo  ', description: 'first' }, u.auth);
    expect(created.status).toBe(201);
    const { project } = await created.json();
    expect(project).toMatchObject({ name: 'Demo', description: 'first', ownerId: u.user.id });

    const got = await t.app.request(`/projects/${project.id}`, { headers: u.auth });
    expect((await got.json()).project.id).toBe(project.id);

    const put = await t.json('PUT', `/projects/${project.id}`, { name: 'Renamed' }, u.auth);
    expect(put.status).toBe(200);
    const updated = (await put.json()).project;
    expect(updated).toMatchObject({ name: 'Renamed', description: null });

    expect((await t.app.request(`/projects/${project.id}`, { method: 'DELETE', headers: u.auth })).status).toBe(204);
    expect((await t.app.request(`/projects/${project.id}`, { headers: u.auth })).status).toBe(404);
    expect((await t.app.request(`/projects/${project.id}`, { method: 'DELETE', headers: u.auth })).status).toBe(404);
  });

  it('ignores ownerId, id and timestamps sent by the client', async () => {
    const u = await t.registerUser();
    const other = await t.registerUser();
    const forcedId = crypto.randomUUID();
    const res = await t.json(
      'POST',
      '/projects',
      { name: 'Mine', ownerId: other.user.id, id: forcedId, createdAt: '2000-01-01T00:00:00Z' },
      u.auth,
    );
    const { project } = await res.json();
    expect(project.ownerId).toBe(u.user.id);
    expect(project.id).not.toBe(forcedId);
    expect(project.createdAt).not.toBe('2000-01-01T00:00:00.000Z');
  });

  it('paginates with total, newest first, limit capped at 100', async () => {
    const u = await t.registerUser();
    for (let i = 0; i < 5; i++) await t.json('POST', '/projects', { name: `p${i}` }, u.auth);
    const page1 = await (await t.app.request('/projects?page=1&limit=2', { headers: u.auth })).json();
    expect(page1).toMatchObject({ page: 1, limit: 2, total: 5 });
    expect(page1.items.map((p: { name: string }) => p.name)).toEqual(['p4', 'p3']);
    const page3 = await (await t.app.request('/projects?page=3&limit=2', { headers: u.auth })).json();
    expect(page3.items.map((p: { name: string }) => p.name)).toEqual(['p0']);
    const defaults = await (await t.app.request('/projects', { headers: u.auth })).json();
    expect(defaults).toMatchObject({ page: 1, limit: 20, total: 5 });

    for (const q of ['limit=101', 'limit=0', 'page=0', 'page=abc', 'limit=-1', 'limit=1.5']) {
      const res = await t.app.request(`/projects?${q}`, { headers: u.auth });
      expect(res.status, q).toBe(400);
    }
  });

  it("never shows another user's project: 404 on read, update and delete", async () => {
    const owner = await t.registerUser();
    const intruder = await t.registerUser();
    const { project } = await (await t.json('POST', '/projects', { name: 'Secret' }, owner.auth)).json();

    expect((await t.app.request(`/projects/${project.id}`, { headers: intruder.auth })).status).toBe(404);
    expect((await t.json('PUT', `/projects/${project.id}`, { name: 'pwned' }, intruder.auth)).status).toBe(404);
    expect((await t.app.request(`/projects/${project.id}`, { method: 'DELETE', headers: intruder.auth })).status).toBe(404);
    const list = await (await t.app.request('/projects', { headers: intruder.auth })).json();
    expect(list.items.find((p: { id: string }) => p.id === project.id)).toBeUndefined();

    const still = await (await t.app.request(`/projects/${project.id}`, { headers: owner.auth })).json();
    expect(still.project.name).toBe('Secret');
  });

  it('admins see and manage every project', async () => {
    const owner = await t.registerUser();
    const admin = await t.registerUser('admin');
    const { project } = await (await t.json('POST', '/projects', { name: 'Any' }, owner.auth)).json();
    expect((await t.app.request(`/projects/${project.id}`, { headers: admin.auth })).status).toBe(200);
    const list = await (await t.app.request('/projects?limit=100', { headers: admin.auth })).json();
    expect(list.items.some((p: { id: string }) => p.id === project.id)).toBe(true);
    expect((await t.json('PUT', `/projects/${project.id}`, { name: 'By admin' }, admin.auth)).status).toBe(200);
  });

  it('validates bodies and ids', async () => {
    const u = await t.registerUser();
    expect((await t.json('POST', '/projects', {}, u.auth)).status).toBe(400);
    expect((await t.json('POST', '/projects', { name: '   ' }, u.auth)).status).toBe(400);
    expect((await t.json('POST', '/projects', { name: 'x'.repeat(201) }, u.auth)).status).toBe(400);
    expect((await t.json('POST', '/projects', { name: ['x'] }, u.auth)).status).toBe(400);
    expect((await t.json('POST', '/projects', { name: 'ok', description: 5 }, u.auth)).status).toBe(400);
    expect((await t.json('POST', '/projects', [1, 2], u.auth)).status).toBe(400);
    expect((await t.json('POST', '/projects', null, u.auth)).status).toBe(400);
    expect((await t.app.request('/projects/123', { headers: u.auth })).status).toBe(400);
    expect((await t.app.request("/projects/' or 1=1 --", { headers: u.auth })).status).toBe(400);
    expect((await t.app.request('/projects')).status).toBe(401);
  });
});
