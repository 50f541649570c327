import type { DurableObjectNamespace, ExecutionContext, Fetcher, Hyperdrive } from '@cloudflare/workers-types/index.ts';

/**
 * The Worker's bindings (wrangler.toml `[vars]`, secrets, Hyperdrive, Durable Objects). Every
 * string binding is also read by `loadConfig`, so the variables mean what they mean on Node.
 */
export interface EdgeEnv {
  /** Preferred: a Hyperdrive binding in front of Postgres (pooled, close to the database). */
  HYPERDRIVE?: Hyperdrive;
  /** Otherwise a plain connection string (secret). */
  DATABASE_URL?: string;
  /** HS256 secret (secret), required on the edge: there is no disk to keep a generated one. */
  JWT_SECRET?: string;
  /** Connection shards (ConnectionShard): the /ws sockets, spread by user id over EDGE_WS_SHARDS objects. */
  REALTIME_SHARDS: DurableObjectNamespace;
  /** One object per realtime channel (ChannelObject): which shards subscribe, and the forwarding to them. */
  REALTIME_CHANNELS: DurableObjectNamespace;
  /** Shared with Node's EDGE_EVENTS_SECRET: verifies events POSTed to /internal/events. */
  EDGE_EVENTS_SECRET?: string;
  /** Static assets (wrangler.toml `[assets]`): Swagger UI's files for /docs. Unbound: /docs loads them from a CDN. */
  ASSETS?: Fetcher;
  [name: string]: unknown;
}

export type { ExecutionContext };

/** The plain string bindings, which is what `loadConfig` reads. */
export function stringBindings(env: EdgeEnv): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') strings[name] = value;
  return strings;
}

/** Hyperdrive when bound, else DATABASE_URL. */
export function databaseUrlOf(env: EdgeEnv): string | undefined {
  return env.HYPERDRIVE?.connectionString ?? env.DATABASE_URL;
}
