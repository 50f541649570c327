import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';

export type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A tool as the MCP server describes it: name, description, inputSchema (JSON Schema), outputSchema?, annotations?. */
export type McpTool = Tool;

/**
 * Opens a new, unstarted transport to one MCP server; the client calls it again after a
 * disconnect. `label` names the server in error messages (never with credentials).
 */
export type McpConnector = (() => Promise<Transport>) & { label?: string };

export interface CallToolRequest {
  name: string;
  arguments?: Record<string, unknown>;
  /** Sent as the request's `params._meta`, e.g. `{ userId, runId, stepId }`. */
  meta?: Record<string, unknown>;
  /** Overrides the client's default request timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * What the platform needs from an MCP server. A tool that ran and failed resolves with
 * `isError: true`; an unreachable server rejects with `McpUnavailableError`, no answer in
 * time with `McpRequestTimeoutError`, an aborted `signal` with its reason, and a JSON-RPC
 * error from the server (unknown method...) with the SDK's `McpError`.
 */
export interface McpToolClient {
  listTools(): Promise<McpTool[]>;
  callTool(request: CallToolRequest): Promise<CallToolResult>;
  close(): Promise<void>;
}

export { createReconnectingMcpClient } from './reconnecting-mcp-client';
