/**
 * Cloudflare Workers entry (wrangler.toml `main`): the same `createApp` as Node, built once per
 * isolate with edge dependencies (src/edge/edge-deps.ts), plus the edge-only routes (/ws through
 * the realtime Durable Objects it exports, /internal/events). Web APIs only; see README "Edge".
 */
import { type App, createApp } from '../app';
import { ConfigError } from '../config/config';
import { registerMcpWebSocket } from '../mcp-gateway/mcp-websocket.routes';
import { ChannelObject } from './channel-object';
import { ConnectionShard } from './connection-shard';
import { createEdgeDeps, type EdgeDeps } from './edge-deps';
import type { EdgeEnv, ExecutionContext } from './edge-env';
import { registerEdgeRoutes } from './edge-routes';
import { workersWebSocketUpgrade } from './workers-websocket-upgrade';

export { ChannelObject, ConnectionShard };

interface EdgeIsolate {
  app: App;
  edge: EdgeDeps;
}

// Bindings are fixed for an isolate's life; the env object is the key.
const isolates = new WeakMap<EdgeEnv, EdgeIsolate>();

function isolateFor(env: EdgeEnv): EdgeIsolate {
  let isolate = isolates.get(env);
  if (isolate) return isolate;
  const edge = createEdgeDeps(env);
  const app = createApp(edge.deps);
  registerEdgeRoutes(app, { env, shardCount: edge.deps.config.edgeWsShards, eventsSecret: env.EDGE_EVENTS_SECRET });
  // The /mcp WebSocket relay lives as long as the client's socket, in the context of its request.
  registerMcpWebSocket(app, { upgrade: workersWebSocketUpgrade });
  isolate = { app, edge };
  isolates.set(env, isolate);
  edge.deps.logger.info({}, 'edge app built');
  return isolate;
}

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
    let isolate: EdgeIsolate;
    try {
      isolate = isolateFor(env);
    } catch (error) {
      if (error instanceof ConfigError) return misconfigured(error);
      throw error;
    }
    const { app, edge } = isolate;
    return edge.inRequest(ctx, async () => app.fetch(request, env, ctx as never));
  },
};
