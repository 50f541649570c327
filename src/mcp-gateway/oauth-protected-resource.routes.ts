import { Hono } from 'hono';
import type { AppEnv } from '../deps';
import { publicOrigin } from '../http/public-origin';
import { MCP_RESOURCE_METADATA_PATH } from '../middleware/mcp-auth';
import { protectedResourceDocs } from './mcp.openapi';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): how a client authenticates here, so MCP
 * clients that follow a 401's `resource_metadata` find their way. The API issues its own
 * tokens (it is no OAuth authorization server, so it names none): `token_endpoint` says where
 * they come from, as far as that applies. The root document describes the API as a whole (every
 * route takes the same bearer token); the one under `/mcp` describes the MCP gateway.
 */
export const protectedResourceRoutes = new Hono<AppEnv>()
  .get(WELL_KNOWN, protectedResourceDocs, (c) => c.json(metadata(publicOrigin(c), '')))
  .get(MCP_RESOURCE_METADATA_PATH, protectedResourceDocs, (c) => c.json(metadata(publicOrigin(c), '/mcp')));

function metadata(origin: string, path: string) {
  return {
    resource: `${origin}${path}`,
    resource_name: path ? 'Workflow platform MCP gateway' : 'Workflow platform API',
    bearer_methods_supported: ['header'],
    resource_documentation: `${origin}/docs`,
    token_endpoint: `${origin}/auth/login`,
    token_refresh_endpoint: `${origin}/auth/refresh`,
  };
}
