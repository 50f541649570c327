import type { Context } from 'hono';
import type { AppEnv, AuthUser } from '../deps';
import { UnauthorizedError } from '../errors/unauthorized-error';
import { publicOrigin } from '../http/public-origin';
import { authenticate } from './auth';

/** Where `/mcp` describes itself as an OAuth protected resource (RFC 9728: the resource's path after the well-known one). */
export const MCP_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * `authenticate` for `/mcp`: a 401 carries the `WWW-Authenticate: Bearer` challenge that MCP
 * clients read (RFC 6750, MCP authorization): the resource metadata URL (RFC 9728) always, and
 * `error="invalid_token"` with a description when a token was sent; a request without any
 * gets no error code (RFC 6750 §3.1: it may not know authentication is needed).
 */
export async function authenticateMcpClient(c: Context<AppEnv>, token: string | undefined): Promise<AuthUser> {
  try {
    return await authenticate(c, token);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    const challenge = [
      'Bearer realm="mcp"',
      `resource_metadata=${quoted(`${publicOrigin(c)}${MCP_RESOURCE_METADATA_PATH}`)}`,
    ];
    if (token !== undefined) challenge.push('error="invalid_token"', `error_description=${quoted(error.message)}`);
    throw new UnauthorizedError(error.message, error.details, { 'WWW-Authenticate': challenge.join(', ') });
  }
}
