/**
 * `npm run mcp-server`: the built-in MCP server on its own, for use as `MCP_URL`
 * (http://HOST:PORT/mcp or ws://HOST:PORT/ws) or with any MCP client.
 * Env: MCP_SERVER_PORT (4100), MCP_SERVER_HOST (127.0.0.1), MCP_AUTH_TOKEN (optional bearer token).
 */
import { ConfigError } from '../config/config';
import { loadMcpServerEnv, type McpServerEnv } from './mcp-server-env';
import { startMcpServer } from './mcp-server-process';

let env: McpServerEnv;
try {
  env = loadMcpServerEnv(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) console.error(`config error: ${problem}`);
  process.exit(1);
}

const running = await startMcpServer({
  port: env.MCP_SERVER_PORT,
  host: env.MCP_SERVER_HOST,
  authToken: env.MCP_AUTH_TOKEN,
});
console.log(
  JSON.stringify({
    msg: 'built-in MCP server listening',
    url: running.url,
    wsUrl: running.wsUrl,
    auth: !!env.MCP_AUTH_TOKEN,
  }),
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ msg: 'shutting down', signal }));
    // A stuck close must not keep the process alive forever.
    setTimeout(() => process.exit(1), 10_000).unref();
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(JSON.stringify({ msg: 'shutdown failed', error: String(error) }));
        process.exit(1);
      },
    );
  });
}
