import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { WebSocket } from 'ws';
import type { McpConnector } from '../../src/mcp/tool-client';
import { gatewayLimits } from '../../src/mcp-gateway/gateway-limits';
import { McpGateway } from '../../src/mcp-gateway/mcp-gateway';
import { toolPolicyOf } from '../../src/mcp-gateway/tool-policy';
import { gatewayUpstreamConnector } from '../../src/node/mcp-gateway-factory';
import { createNodeWebSockets } from '../../src/node/node-websockets';
import { installWebSocketGlobal } from '../../src/node/websocket-global';
import { RecordingLogger } from '../helpers/recording-logger';
import { createTestApp, type TestAppOptions, testConfig } from '../helpers/test-app';

installWebSocketGlobal();

export interface GatewayServerOptions extends TestAppOptions {
  /** The upstream; default: what the Node entry selects from the configuration (MCP_URL, MCP_COMMAND or the built-in server). */
  connector?: McpConnector;
  /** The gateway's wall clock (session accounting, idle expiry). */
  now?: () => number;
}

/**
 * A real listening API (node-server + the node-ws upgrade plumbing of src/node/server.ts) with
 * the /mcp gateway wired the way the Node entry wires it, on a free port.
 */
export async function startGatewayServer(options: GatewayServerOptions = {}) {
  const config = testConfig(options.env);
  const logger = (options.logger as RecordingLogger | undefined) ?? new RecordingLogger();
  const gateway = new McpGateway({
    connector: options.connector ?? gatewayUpstreamConnector(config),
    policy: toolPolicyOf(config),
    logger,
    ...gatewayLimits(config),
    connectTimeoutMs: 5000,
    now: options.now,
  });
  const websockets = createNodeWebSockets();
  const testApp = await createTestApp({
    ...options,
    logger,
    mcpGateway: gateway,
    overrides: { ...options.overrides, webSockets: websockets },
  });
  const server = serve({ fetch: testApp.app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  websockets.attach(server, testApp.app);
  const port = (server.address() as AddressInfo).port;
  const clients = new Set<Client>();

  const httpUrl = `http://127.0.0.1:${port}/mcp`;
  const wsUrl = (token: string) => `ws://127.0.0.1:${port}/mcp?token=${encodeURIComponent(token)}`;

  /** An official SDK client connected through the gateway (initialize done). */
  async function connect(transport: 'http' | 'websocket', token: string): Promise<Client> {
    const client = new Client({ name: 'gateway-test', version: '1.0.0' });
    clients.add(client);
    await client.connect(
      transport === 'http'
        ? new StreamableHTTPClientTransport(new URL(httpUrl), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          })
        : new WebSocketClientTransport(new URL(wsUrl(token))),
    );
    return client;
  }

  return {
    ...testApp,
    gateway,
    logger,
    port,
    httpUrl,
    wsUrl,
    connect,
    async close() {
      for (const client of clients) await client.close().catch(() => {});
      await gateway.shutdown();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await testApp.close();
    },
  };
}

export type GatewayServer = Awaited<ReturnType<typeof startGatewayServer>>;

/** A user registered through the gateway's app, with its tokens and auth header. */
export type GatewayUser = Awaited<ReturnType<GatewayServer['registerUser']>>;

/** Ends an SDK client's session the way it ends for each transport: DELETE for Streamable HTTP, socket close for WebSocket. */
export async function disconnect(client: Client): Promise<void> {
  const transport = client.transport as { terminateSession?: () => Promise<void> } | undefined;
  await transport?.terminateSession?.();
  await client.close();
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw JSON POST to /mcp (no session), as a script without an MCP SDK would send it. */
export async function postJson(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(body),
  });
}

/** The headers an SDK client sends on the POSTs of an open Streamable HTTP session. */
export function sessionHeaders(token: string, sessionId: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-session-id': sessionId,
    'mcp-protocol-version': '2025-06-18',
  };
}

/** The HTTP status a WebSocket upgrade was refused with (or 101). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mcp', { headers });
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (error) => reject(error));
  });
}
