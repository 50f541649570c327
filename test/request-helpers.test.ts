import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { tokenExpiry } from '../src/auth/token-expiry';
import { describeError } from '../src/mcp/describe-error';
import { upgradeToken } from '../src/middleware/auth';

const key = new TextEncoder().encode('x'.repeat(32));

describe('upgradeToken', () => {
  const app = new Hono().get('/', (c) => c.text(upgradeToken(c) ?? '(none)'));
  const tokenOf = async (path: string, headers: Record<string, string> = {}) =>
    (await app.request(path, { headers })).text();

  it('takes the Bearer header first, else ?token=, else nothing', async () => {
    expect(await tokenOf('/?token=from-query', { authorization: 'Bearer from-header' })).toBe('from-header');
    expect(await tokenOf('/?token=from-query')).toBe('from-query');
    expect(await tokenOf('/?token=from-query', { authorization: 'Basic dTpw' })).toBe('from-query');
    expect(await tokenOf('/')).toBe('(none)');
  });
});

describe('tokenExpiry', () => {
  it("reads a JWT's exp in ms (jose's decodeJwt), and nothing from what is not a JWT", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = await new SignJWT({ sub: 'u', name: 'Zoë ✓' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp)
      .sign(key);
    expect(tokenExpiry(token)).toBe(exp * 1000);
    const noExp = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(tokenExpiry(noExp)).toBeUndefined();
    expect(tokenExpiry('a.b.c')).toBeUndefined();
    expect(tokenExpiry(undefined)).toBeUndefined();
  });
});

describe('describeError', () => {
  it('names the HTTP status and the cause, and never a URL credential', () => {
    const http = Object.assign(new Error('Error POSTing to endpoint'), { code: 503 });
    expect(describeError(http)).toBe('HTTP 503: Error POSTing to endpoint');
    // Not an HTTP status: a JSON-RPC error code or a Node errno name says nothing about HTTP.
    expect(describeError(Object.assign(new Error('rpc'), { code: -32000 }))).toBe('rpc');
    expect(describeError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('refused');
    const withCause = new Error('fetch failed', {
      cause: new Error('connect ECONNREFUSED http://user:secret@mcp.internal:8080/mcp'),
    });
    expect(describeError(withCause)).not.toContain('secret');
    expect(describeError(withCause)).toMatch(/^fetch failed \(connect ECONNREFUSED .*mcp\.internal:8080\/mcp\)$/);
    expect(describeError('wss://user:secret@host/mcp closed')).not.toContain('secret');
  });
});
