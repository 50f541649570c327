import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger';
import { toolPolicyOf } from '../../src/mcp-gateway/tool-policy';
import { createMcpGateway } from '../../src/node/mcp-gateway-factory';
import { createTestApp, testConfig } from '../helpers/test-app';
import { PROTOCOL_VERSION } from './raw-mcp-client';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mode-test', version: '1' } },
};

/**
 * Each app's /mcp follows its own MCP_GATEWAY_MODE, even over one gateway object: the front is
 * built with the app's dependencies, not looked up by gateway (where the first app's mode stuck).
 */
describe('MCP gateway mode per app', () => {
  const gateway = createMcpGateway(testConfig(), toolPolicyOf(testConfig()), silentLogger);
  let stateless: TestApp;
  let sessions: TestApp;
  let token: string;

  beforeAll(async () => {
    stateless = await createTestApp({ env: { MCP_GATEWAY_MODE: 'stateless' }, mcpGateway: gateway });
    sessions = await createTestApp({ db: stateless.db, env: { MCP_GATEWAY_MODE: 'sessions' }, mcpGateway: gateway });
    token = (await stateless.registerUser()).accessToken;
  });
  afterAll(async () => {
    await gateway.shutdown();
    await stateless?.close();
  });

  const initializeOn = (t: TestApp) =>
    t.app.request('/mcp', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(initialize),
    });

  it('stateless answers initialize without a session, sessions mode opens one', async () => {
    const first = await initializeOn(stateless);
    expect(first.status).toBe(200);
    await first.text();
    expect(first.headers.get('mcp-session-id')).toBeNull();

    const second = await initializeOn(sessions);
    expect(second.status).toBe(200);
    await second.text();
    expect(second.headers.get('mcp-session-id')).toMatch(/\S/);

    // And the stateless app still refuses the session GET stream, whatever the other app did.
    const get = await stateless.app.request('/mcp', {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    expect(get.status).toBe(405);
  });
});
