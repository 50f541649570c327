/**
 * Cloudflare Workers entry (wrangler.toml `main`): the same `createApp` as Node, built with
 * edge dependencies (src/edge/edge-deps.ts), plus the edge-only routes (/ws through the
 * ChannelHub Durable Object, /internal/events). Web APIs only; see README "Edge".
 */
import { createApp } from '../app';
import { ConfigError } from '../config/config';
import { registerMcpWebSocket } from '../routes/mcp-websocket';
import { ChannelHubObject } from './channel-hub-object';
import { createEdgeDeps } from './edge-deps';
import type { EdgeEnv, ExecutionContext } from './edge-env';
import { registerEdgeRoutes } from './edge-routes';
import { workersWebSocketUpgrade } from './workers-websocket-upgrade';

export { ChannelHubObject as ChannelHub };

function misconfigured(error: ConfigError): Response {
  // The operator reads the variable names in the logs; clients learn only that it is not their fault.
  console.error(JSON.stringify({ level: 'error', msg: 'edge configuration error', problems: error.problems }));
  return Response.json(
    { error: { code: 'service_unavailable', message: 'The service is not configured' } },
    { status: 503 },
  );
}

export default {
  async fetch(request: Request, env: EdgeEnv, ctx: ExecutionContext): Promise<Response> {
    let edge: ReturnType<typeof createEdgeDeps>;
    try {
      edge = createEdgeDeps(env);
    } catch (error) {
      if (error instanceof ConfigError) return misconfigured(error);
      throw error;
    }
    try {
      // Per request, because the deps hold this request's database connection. Building the
      // app (routes, middleware) costs about 0.7 ms of CPU (README "Edge").
      const app = createApp(edge.deps);
      registerEdgeRoutes(app, { hubNamespace: env.CHANNEL_HUB, eventsSecret: env.EDGE_EVENTS_SECRET });
      // The /mcp WebSocket relay lives as long as the client's socket, in this request's context.
      registerMcpWebSocket(app, { upgrade: workersWebSocketUpgrade });
      return await app.fetch(request, env, ctx as never);
    } finally {
      ctx.waitUntil(edge.close());
    }
  },
};
