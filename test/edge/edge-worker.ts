import { dirname } from 'node:path';
import { Miniflare } from 'miniflare';
import { buildEdgeBundle, wranglerCompatibility } from './edge-build';

let bundle: Promise<string> | undefined;

export interface EdgeWorker {
  /** http://127.0.0.1:<port> of the Worker running in workerd. */
  url: string;
  mf: Miniflare;
  close(): Promise<void>;
}

/**
 * The deployable bundle (built once per test file) running in the real Workers runtime
 * (workerd, through Miniflare) with the Durable Object binding of wrangler.toml and the given
 * string bindings (vars and secrets).
 */
export async function startEdgeWorker(bindings: Record<string, string>): Promise<EdgeWorker> {
  bundle ??= buildEdgeBundle();
  const scriptPath = await bundle;
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    ...wranglerCompatibility(),
    durableObjects: { CHANNEL_HUB: 'ChannelHub' },
    bindings: { NODE_ENV: 'production', LOG_LEVEL: 'warn', ...bindings },
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, mf, close: () => mf.dispose() };
}
