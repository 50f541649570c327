import * as z from 'zod';
import { ConfigError, type Env } from '../config/config';

// `npm run mcp-server` is a separate program with its own few variables, not part of the API's Config.
const mcpServerEnvSchema = z.object({
  MCP_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  MCP_SERVER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  MCP_AUTH_TOKEN: z
    .string()
    .optional()
    .transform((value) => value?.trim() || undefined),
});

export type McpServerEnv = z.infer<typeof mcpServerEnvSchema>;

/** Every variable `loadMcpServerEnv` reads. */
export const MCP_SERVER_VARIABLES: readonly string[] = Object.keys(mcpServerEnvSchema.shape);

export function loadMcpServerEnv(env: Env): McpServerEnv {
  const parsed = mcpServerEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'env')} ${i.message}`));
  }
  return parsed.data;
}
