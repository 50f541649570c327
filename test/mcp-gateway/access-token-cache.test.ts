import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TestClock } from '../helpers/test-app';

const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

/** /mcp remembers verified access tokens, but never past their expiry. */
describe('/mcp token checks', () => {
  const clock = new TestClock(new Date());
  let t: Awaited<ReturnType<typeof createTestApp>>;
  beforeAll(async () => {
    t = await createTestApp({ clock: clock.fn, env: { JWT_ACCESS_TTL: '60' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (authorization: string) =>
    t.app.request('/mcp', {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: TOOLS_LIST,
    });

  it('accepts a token while it is valid and refuses it once expired, cached or not', async () => {
    const { accessToken } = await t.registerUser();
    expect((await post(`Bearer ${accessToken}`)).status).toBe(200);
    clock.advance(30_000);
    expect((await post(`Bearer ${accessToken}`)).status).toBe(200);
    clock.advance(31_000);
    const expired = await post(`Bearer ${accessToken}`);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('refuses a tampered token even after the genuine one was cached', async () => {
    const { accessToken } = await t.registerUser();
    expect((await post(`Bearer ${accessToken}`)).status).toBe(200);
    const [header, payload, signature] = accessToken.split('.');
    const tampered = `${header}.${payload}.${signature?.startsWith('A') ? 'B' : 'A'}${signature?.slice(1)}`;
    expect((await post(`Bearer ${tampered}`)).status).toBe(401);
    expect((await post('Bearer not.a.jwt')).status).toBe(401);
  });
});
