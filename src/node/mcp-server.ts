/**
 * `npm run mcp-server`: the built-in MCP server on its own, for use as `MCP_URL`
 * (http://HOST:PORT/mcp or ws://HOST:PORT/ws) or with any MCP client.
 * Env: MCP_SERVER_PORT (4100), MCP_SERVER_HOST (127.0.0.1), MCP_AUTH_TOKEN (optional bearer token).
 */
import * as z from 'zod';
import { startMcpServer } from './mcp-server-process';

const envSchema = z.object({
  MCP_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  MCP_SERVER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  MCP_AUTH_TOKEN: z
    .string()
    .optional()
    .transform((value) => value?.trim() || undefined),
});

const parsed = envSchema.safeParse(process.env);
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  console.error(`Invalid configuration: ${issue?.path.join('.')} ${issue?.message}`);
  process.exit(1);
}
const env = parsed.data;

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
