import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpConnector } from './tool-client';

/**
 * Connector to an MCP server running in this process (the built-in one when no upstream
 * is configured): each connect builds a fresh server with `createServer` and links it to
 * the client through the SDK's in-memory transport pair. No serialization, no network.
 */
export function inProcessConnector(createServer: () => McpServer, label = 'built-in MCP server'): McpConnector {
  const connector: McpConnector = async () => {
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await createServer().connect(serverTransport);
    return clientTransport;
  };
  connector.label = label;
  return connector;
}
