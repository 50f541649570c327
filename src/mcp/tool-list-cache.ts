import { type Clock, systemClock } from '../clock';
import type { McpTool, McpToolClient } from './tool-client';

export interface ToolListCacheOptions {
  /** How long a loaded list is served. Default 10 s. */
  ttlMs?: number;
  clock?: Clock;
}

export interface ToolListCache {
  /** The cached list while fresh; otherwise loads it (concurrent callers share one load). Failures are not cached. */
  get(): Promise<McpTool[]>;
  invalidate(): void;
}

/** Caches `load()` (typically `client.listTools`) briefly, so `GET /tools/list` does not hit the MCP server each time. */
export function createToolListCache(load: () => Promise<McpTool[]>, options: ToolListCacheOptions = {}): ToolListCache {
  const ttlMs = options.ttlMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  let cached: { tools: McpTool[]; expiresAtMs: number } | undefined;
  let loading: Promise<McpTool[]> | undefined;
  // Bumped by invalidate(), so a load that started before it cannot refill the cache.
  let generation = 0;

  return {
    get() {
      if (cached && clock().getTime() < cached.expiresAtMs) return Promise.resolve(cached.tools);
      if (loading) return loading;
      const started = generation;
      const current = load().then((tools) => {
        if (started === generation) cached = { tools, expiresAtMs: clock().getTime() + ttlMs };
        return tools;
      });
      loading = current;
      const clear = () => {
        if (loading === current) loading = undefined;
      };
      current.then(clear, clear);
      return current;
    },
    invalidate() {
      generation++;
      cached = undefined;
      loading = undefined;
    },
  };
}

/**
 * The same client with `listTools` served through a short cache: the composition roots wrap the
 * process's (or isolate's) own client once, so `GET /tools/list` and the polled `/health` probe
 * do not each cost a round trip and the SDK's schema compilation. Calls go straight through.
 */
export function withCachedToolList(client: McpToolClient, options: ToolListCacheOptions = { ttlMs: 5000 }): McpToolClient {
  const cache = createToolListCache(() => client.listTools(), options);
  return {
    listTools: () => cache.get(),
    callTool: (request) => client.callTool(request),
    close: () => client.close(),
  };
}
