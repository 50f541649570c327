import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { type GatewayServer, postJson, startGatewayServer } from './gateway-server';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
};

/** What an upgrade refusal says: status and WWW-Authenticate. */
function upgradeRefusal(url: string): Promise<{ status: number; challenge?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mcp');
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, challenge: response.headers['www-authenticate'] });
      response.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('upgraded')));
    ws.once('error', () => {});
  });
}

describe('/mcp authentication for MCP clients (RFC 6750, RFC 9728)', () => {
  let gw: GatewayServer;
  let origin: string;

  beforeAll(async () => {
    gw = await startGatewayServer({ env: { TRUST_PROXY: 'true' } });
    origin = new URL(gw.httpUrl).origin;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('answers 401 with a Bearer challenge naming the resource metadata; invalid_token only when a token was sent', async () => {
    const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
    const anonymous = await fetch(gw.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initialize),
    });
    expect(anonymous.status).toBe(401);
    const challenge = anonymous.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).not.toContain('error=');
    expect(extractWWWAuthenticateParams(anonymous).resourceMetadataUrl?.href).toBe(metadataUrl);

    const forged = await postJson(gw.httpUrl, 'not.a.jwt', initialize);
    expect(forged.status).toBe(401);
    expect(extractWWWAuthenticateParams(forged)).toMatchObject({
      error: 'invalid_token',
      resourceMetadataUrl: new URL(metadataUrl),
    });
    expect(forged.headers.get('www-authenticate')).toMatch(/error_description="[^"]+"/);

    const upgrade = await upgradeRefusal(gw.wsUrl('not.a.jwt'));
    expect(upgrade.status).toBe(401);
    expect(upgrade.challenge).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('serves the protected resource metadata the SDK client discovers, naming where tokens come from', async () => {
    const metadata = await discoverOAuthProtectedResourceMetadata(new URL(gw.httpUrl));
    expect(metadata).toMatchObject({
      resource: `${origin}/mcp`,
      bearer_methods_supported: ['header'],
      token_endpoint: `${origin}/auth/login`,
    });
    const root = await (await fetch(`${origin}/.well-known/oauth-protected-resource`)).json();
    expect(root).toMatchObject({ resource: origin, token_endpoint: `${origin}/auth/login` });

    // The token endpoint it names gives a token /mcp takes.
    const { username, password } = await gw.registerUser();
    const login = await fetch(String(metadata.token_endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const { accessToken } = await readJson(login, bodies.session);
    expect((await postJson(gw.httpUrl, accessToken, initialize)).status).toBe(200);
  });

  it('names the public origin a trusted proxy reports', async () => {
    const behindProxy = await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' },
    });
    const seen = await behindProxy.json();
    expect(seen).toMatchObject({
      resource: 'https://api.example.com/mcp',
      token_endpoint: 'https://api.example.com/auth/login',
    });
    for (const forgedHost of ['[::::]:99999', 'evil.example/path', 'a@b']) {
      const odd = await fetch(`${origin}/.well-known/oauth-protected-resource`, {
        headers: { 'x-forwarded-host': forgedHost },
      });
      expect(odd.status).toBe(200);
      expect(await odd.json()).toMatchObject({ resource: origin });
    }
  });
});
