import type { Config } from '../config/config';
import type { McpGatewayOptions } from './mcp-gateway';

export type GatewayLimitsConfig = Pick<
  Config,
  | 'mcpMaxSessionsPerUser'
  | 'mcpMaxSessions'
  | 'mcpSessionIdleMs'
  | 'mcpSessionDetachedMs'
  | 'mcpUpstreamTimeoutMs'
  | 'mcpSessionReplayBytes'
  | 'mcpSessionBacklogBytes'
>;

/** The gateway's caps and timeouts from the configuration (the same on every runtime). */
export function gatewayLimits(
  config: GatewayLimitsConfig,
): Pick<
  McpGatewayOptions,
  'maxSessionsPerUser' | 'maxSessions' | 'sessionIdleMs' | 'detachedSessionMs' | 'requestTimeoutMs' | 'streamLimits'
> {
  return {
    maxSessionsPerUser: config.mcpMaxSessionsPerUser,
    maxSessions: config.mcpMaxSessions,
    sessionIdleMs: config.mcpSessionIdleMs,
    detachedSessionMs: config.mcpSessionDetachedMs,
    requestTimeoutMs: config.mcpUpstreamTimeoutMs,
    streamLimits: { replayBytes: config.mcpSessionReplayBytes, backlogBytes: config.mcpSessionBacklogBytes },
  };
}
