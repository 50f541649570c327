/**
 * Cloudflare Workers entry (wrangler.toml `main`): the same `createApp` as Node, built once per
 * isolate with edge dependencies (src/edge/edge-deps.ts: /ws through the realtime Durable
 * Objects it exports, /internal/events published there). Web APIs only; see README "Edge".
 */
import { type App, createApp } from '../app';
import { ConfigError } from '../config/config';
import { ChannelObject } from './channel-object';
import { ConnectionShard } from './connection-shard';
import { createEdgeDeps, type EdgeDeps } from './edge-deps';
import type { EdgeEnv, ExecutionContext } from './edge-env';

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
