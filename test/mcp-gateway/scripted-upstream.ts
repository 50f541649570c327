import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { ElicitResultSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { StreamEventStore } from './stream-event-store';

/** A message without its params or result. */
function headOf(message: JSONRPCMessage): JSONRPCMessage {
  const { params: _params, result: _result, ...head } = message as Record<string, unknown>;
  return head as JSONRPCMessage;
}

export interface ScriptedUpstreamOptions {
  /** Answer requests with plain JSON instead of SSE (the SDK's `enableJsonResponse`). */
  json?: boolean;
  /** Resumable streams (an event store: ids, priming events). */
  resumable?: boolean;
  /** What the server does as soon as a session is initialized (before any request of it). */
  onInitialized?(server: McpServer): void;
}

/**
 * A small MCP server over Streamable HTTP for the gateway's tests, with tools that make it
 * speak in the ways that matter to a relay: progress right before the answer, a message on the
 * GET stream, a question to the client, a call that waits until it is cancelled. It records
 * every JSON-RPC message it receives and every call that was cancelled.
 */
export async function startScriptedUpstream(options: ScriptedUpstreamOptions = {}) {
  const received: JSONRPCMessage[] = [];
  const cancelled: string[] = [];
  const sessions = new Map<string, { transport: WebStandardStreamableHTTPServerTransport; server: McpServer }>();

  function createServer(): McpServer {
    const server = new McpServer({ name: 'scripted-upstream', version: '1.0.0' }, { capabilities: { logging: {} } });
    server.registerTool(
      'progress',
      { description: 'Reports progress `steps` times, then answers at once', inputSchema: { steps: z.number() } },
      async ({ steps }, extra) => {
        const progressToken = extra._meta?.progressToken;
        for (let step = 1; step <= steps; step++) {
          if (progressToken !== undefined) {
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress: step, total: steps },
            });
          }
          await extra.sendNotification({
            method: 'notifications/message',
            params: { level: 'info', data: `step ${step}` },
          });
        }
        return { content: [{ type: 'text', text: `done after ${steps}` }] };
      },
    );
    server.registerTool(
      'announce',
      { description: 'Sends a log message that belongs to no request (GET stream)', inputSchema: { text: z.string() } },
      async ({ text }) => {
        await server.server.sendLoggingMessage({ level: 'info', data: text });
        return { content: [{ type: 'text', text: 'announced' }] };
      },
    );
    server.registerTool('ask', { description: 'Asks the client for input', inputSchema: {} }, async (_args, extra) => {
      const answer = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: { message: 'Name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } },
        },
        ElicitResultSchema,
      );
      return { content: [{ type: 'text', text: `answer: ${answer.action}` }] };
    });
    server.registerTool(
      'wait_for_cancel',
      { description: 'Waits until cancelled (or 20 s)', inputSchema: { label: z.string() } },
      async ({ label }, extra) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 20_000);
          extra.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            cancelled.push(label);
            resolve();
          });
        });
        return { content: [{ type: 'text', text: 'waited' }] };
      },
    );
    server.registerTool('echo', { description: 'Echoes', inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    return server;
  }

  async function handle(request: Request): Promise<Response> {
    if (request.method === 'POST') {
      const text = await request.clone().text();
      const body: unknown = JSON.parse(text);
      const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
      // Big messages are kept by their head only: a test may send hundreds of megabytes.
      received.push(...(text.length > 64 * 1024 ? messages.map(headOf) : messages));
    }
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session)
        return Response.json(
          { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null },
          { status: 404 },
        );
      return session.transport.handleRequest(request);
    }
    const server = createServer();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableJsonResponse: options.json,
      eventStore: options.resumable ? new StreamEventStore() : undefined,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    server.server.oninitialized = () => options.onInitialized?.(server);
    await server.connect(transport);
    const response = await transport.handleRequest(request);
    if (!transport.sessionId) await server.close();
    return response;
  }

  const httpServer = serve({ port: 0, hostname: '127.0.0.1', fetch: handle });
  await once(httpServer, 'listening');
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    received,
    cancelled,
    /** Sends a log message on every open session's GET stream. */
    async announce(text: string) {
      await Promise.all(
        [...sessions.values()].map(({ server }) => server.server.sendLoggingMessage({ level: 'info', data: text })),
      );
    },
    /** Ends every session's GET stream from the server's side, as a server that wants its clients to poll does. */
    cutGetStreams() {
      for (const { transport } of sessions.values()) transport.closeStandaloneSSEStream();
    },
    async close() {
      await Promise.allSettled([...sessions.values()].map(({ transport }) => transport.close()));
      (httpServer as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
