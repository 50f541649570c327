import { readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { inject } from 'vitest';
import type { Session } from '../../src/auth/session';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { wranglerAssets, wranglerCompatibility, wranglerDurableObjects } from './edge-build';
import { INSTRUMENTED_ENTRY } from './instrumented-entry';

export interface EdgeWorker {
  /** http://127.0.0.1:<port> of the Worker running in workerd. */
  url: string;
  mf: Miniflare;
  /** Every console line of the Worker and its Durable Object (warnings and errors are also printed). */
  logs: string[];
  close(): Promise<void>;
}

/**
 * The deployable bundle (built once per run by edge-global-setup.ts) running in the real Workers runtime
 * (workerd, through Miniflare) with the Durable Object binding of wrangler.toml and the given
 * string bindings (vars and secrets).
 */
export async function startEdgeWorker(
  bindings: Record<string, string>,
  /** Hyperdrive bindings (name → local connection string), as `localConnectionString` gives them. */
  hyperdrives?: Record<string, string>,
  /** Run the bundle behind test/edge/instrumented-entry.ts (hooks to restart and count objects). */
  options: { instrumented?: boolean } = {},
): Promise<EdgeWorker> {
  const scriptPath = inject('edgeBundle');
  const logs: string[] = [];
  // The bundle as one module, as `wrangler deploy` uploads it (Miniflare would otherwise try to
  // resolve the optional peers that some libraries import dynamically, e.g. hono-openapi's).
  const bundle = { type: 'ESModule' as const, path: 'worker.js', contents: readFileSync(scriptPath, 'utf8') };
  const mf = new Miniflare({
    modules: options.instrumented
      ? [{ type: 'ESModule', path: 'entry.js', contents: INSTRUMENTED_ENTRY }, bundle]
      : [bundle],
    ...wranglerCompatibility(),
    durableObjects: wranglerDurableObjects(),
    // As deployed: the Worker answers every path itself, reading /docs files through the binding.
    assets: { ...wranglerAssets(), routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
    hyperdrives,
    bindings: { NODE_ENV: 'production', LOG_LEVEL: 'warn', ...bindings },
    handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
      logs.push(message);
      if (level === 'warn' || level === 'error') console.error(message);
    },
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, mf, logs, close: () => mf.dispose() };
}

export type EdgeUser = Session & { username: string; auth: { authorization: string } };

/** JSON calls against a running Worker, and a user factory. */
export function edgeClient(url: string) {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let counter = 0;
  async function register(): Promise<EdgeUser> {
    counter++;
    const username = `edge_${counter}_${crypto.randomUUID().slice(0, 6)}`;
    const res = await call('POST', '/auth/register', {
      username,
      email: `${username}@example.com`,
      password: 'correct-horse-battery',
    });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
    const body = await readJson(res, bodies.session);
    return { ...body, username, auth: { authorization: `Bearer ${body.accessToken}` } };
  }
  return { call, register };
}
