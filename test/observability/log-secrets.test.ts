import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, waitForHttp } from '../helpers/spawn-node';

/**
 * The log test: the real Node API (pino, LOG_LEVEL=debug) goes through register,
 * login (good and bad), refresh, logout, /profile, /ws, /mcp (HTTP and WebSocket, with
 * ?token=), Bull Board's ?token= login and /metrics, and not one secret reaches its output.
 */
describe('structured logs never carry secrets', () => {
  const jwtSecret = `jwt-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const metricsToken = `metrics-${crypto.randomUUID()}`;
  const adminPassword = `admin-pw-${crypto.randomUUID()}`;
  const userPassword = `user-pw-${crypto.randomUUID()}`;
  const wrongPassword = `wrong-pw-${crypto.randomUUID()}`;
  let server: SpawnedNode;
  let base: string;
  let databaseUrl: string;
  const secrets: string[] = [jwtSecret, metricsToken, adminPassword, userPassword, wrongPassword];
  let session: { user: { id: string }; accessToken: string; refreshToken: string };
  const requestIds: string[] = [];

  beforeAll(async () => {
    const name = `logs_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    databaseUrl = inject('postgresUrl').replace(/\/postgres$/, `/${name}`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnEntry('src/node/server.ts', {
      BACKEND_PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      REDIS_URL: inject('redisUrl'),
      WORKFLOW_QUEUE_NAME: `logs-${crypto.randomUUID().slice(0, 8)}`,
      JWT_SECRET: jwtSecret,
      METRICS_TOKEN: metricsToken,
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      ADMIN_USERNAME: 'log_admin',
      ADMIN_EMAIL: 'log_admin@example.com',
      ADMIN_PASSWORD: adminPassword,
    });
    await waitForHttp(`${base}/health/live`);
  }, PROCESS_HOOK_MS);

  afterAll(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      redirect: 'manual',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    requestIds.push(res.headers.get('x-request-id') ?? '');
    return res;
  };

  it('goes through every flow that handles a secret', async () => {
    const username = `log_user_${crypto.randomUUID().slice(0, 8)}`;
    const registered = await call('POST', '/auth/register', {
      username,
      email: `${username}@example.com`,
      password: userPassword,
    });
    expect(registered.status).toBe(201);
    session = await registered.json();
    secrets.push(session.accessToken, session.refreshToken);

    expect((await call('POST', '/auth/login', { username, password: wrongPassword })).status).toBe(401);
    const login = await call('POST', '/auth/login', { username, password: userPassword });
    expect(login.status).toBe(200);
    const loggedIn = await login.json();
    secrets.push(loggedIn.accessToken, loggedIn.refreshToken);

    const refreshed = await call('POST', '/auth/refresh', { refreshToken: loggedIn.refreshToken });
    expect(refreshed.status).toBe(200);
    const rotated = await refreshed.json();
    secrets.push(rotated.accessToken, rotated.refreshToken);
    // Reuse of a spent refresh token: the family is revoked, and that is logged.
    expect((await call('POST', '/auth/refresh', { refreshToken: loggedIn.refreshToken })).status).toBe(401);
    expect((await call('POST', '/auth/logout', { refreshToken: session.refreshToken })).status).toBe(204);

    const auth = { authorization: `Bearer ${session.accessToken}` };
    expect((await call('GET', '/profile', undefined, auth)).status).toBe(200);
    expect((await call('GET', '/profile', undefined, { authorization: `Bearer ${session.accessToken}x` })).status).toBe(
      401,
    );
    // A body that fails validation, with a password in it.
    expect((await call('POST', '/auth/register', { username: 'x', password: userPassword })).status).toBe(400);

    const adminLogin = await call('POST', '/auth/login', { username: 'log_admin', password: adminPassword });
    const adminSession = await adminLogin.json();
    secrets.push(adminSession.accessToken, adminSession.refreshToken);
    const dashboard = await call('GET', `/admin/queues?token=${adminSession.accessToken}`);
    expect(dashboard.status).toBe(303);
    expect(
      (await call('GET', '/admin/queues', undefined, { cookie: dashboard.headers.get('set-cookie') ?? '' })).status,
    ).toBe(200);
    expect((await call('GET', '/metrics', undefined, { authorization: `Bearer ${metricsToken}` })).status).toBe(200);
    expect((await call('GET', '/metrics', undefined, { authorization: `Bearer ${metricsToken}-wrong` })).status).toBe(
      401,
    );

    // /ws with the token in the query string, and a refused one.
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${session.accessToken}`);
      ws.once('open', () => {
        ws.send(JSON.stringify({ event: 'subscribe', channel: 'workflow' }));
        ws.send(JSON.stringify({ event: 'chat', channel: 'room:1', payload: { password: userPassword } }));
        setTimeout(() => ws.close(), 100);
      });
      ws.once('close', () => resolve());
      ws.once('error', reject);
    });
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${session.accessToken}broken`);
      ws.on('error', () => resolve());
      ws.on('unexpected-response', () => resolve());
    });

    // /mcp: a standard MCP client over Streamable HTTP, then a WebSocket with ?token=.
    const client = new Client({ name: 'log-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: auth } }));
    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hello', apiKey: userPassword } });
    expect(echoed.isError).toBeFalsy();
    await client.close();
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/mcp?token=${session.accessToken}`, 'mcp');
      ws.once('open', () => {
        ws.send(
          JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'ws', version: '1' } },
          }),
        );
        setTimeout(() => ws.close(), 300);
      });
      ws.once('close', () => resolve());
      ws.once('error', () => resolve());
    });
    expect((await call('POST', '/mcp', {}, { authorization: 'Bearer not-a-token' })).status).toBe(401);

    // Give the logger a moment to flush.
    await new Promise((r) => setTimeout(r, 300));
  });

  it('logs one JSON line per request with request id, user id, route, status and duration', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.trim());
    const records = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    const profile = records.find((r) => r.msg === 'request' && r.route === '/profile' && r.status === 200);
    expect(profile).toMatchObject({ method: 'GET', path: '/profile', userId: session.user.id, level: 30 });
    expect(typeof profile?.durationMs).toBe('number');
    expect(requestIds).toContain(profile?.requestId);
    const failedLogin = records.find((r) => r.route === '/auth/login' && r.status === 401);
    expect(failedLogin?.requestId).toEqual(expect.any(String));
  });

  it('never writes a password, token, refresh token, JWT secret or metrics token', () => {
    const output = server.output();
    expect(secrets.length).toBeGreaterThanOrEqual(13);
    for (const secret of secrets) {
      expect(output.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the log`).toBe(false);
      // A JWT's signature alone would be enough to replay nothing, but must not appear either.
      const signature = secret.split('.')[2];
      if (signature) expect(output.includes(signature)).toBe(false);
    }
    expect(output).not.toMatch(/\$2[aby]\$\d\d\$/); // bcrypt hashes
    expect(output).not.toMatch(/token=/i);
  });
});
