import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './edge-build';

/**
 * The Portability rule, checked on what the edge would run: the Worker entry bundled for the
 * Workers runtime (platform neutral, the `workerd`/`worker`/`browser` export conditions) with
 * only `cloudflare:*` and the Node modules that `nodejs_compat` implements left external. Any
 * other Node built-in fails the build; Node-only packages must not be in the bundle at all.
 */

/** Implemented natively by workerd under `nodejs_compat` (postgres.js needs buffer/events/stream). */
const NODEJS_COMPAT = new Set([
  'assert',
  'async_hooks',
  'buffer',
  'crypto',
  'diagnostics_channel',
  'events',
  'path',
  'process',
  'stream',
  'string_decoder',
  'timers',
  'url',
  'util',
  'zlib',
]);

const FORBIDDEN_PACKAGES = [
  'bullmq',
  'ioredis',
  'pino',
  '@hono/node-server',
  '@hono/node-ws',
  '@electric-sql/pglite',
  'prom-client',
  '@bull-board',
  'ws',
  'tsx',
];

const builtins = new Set(builtinModules.filter((m) => !m.startsWith('_')));

function edgeRuntimeModules(found: { allowed: Set<string>; optional: Set<string> }): Plugin {
  return {
    name: 'edge-runtime-modules',
    setup(b) {
      b.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, external: true }));
      b.onResolve({ filter: /.*/ }, async (args) => {
        const name = args.path.replace(/^node:/, '');
        const root = name.split('/')[0] as string;
        if (args.path.startsWith('node:') || builtins.has(name) || builtins.has(root)) {
          if (!NODEJS_COMPAT.has(root)) {
            return { errors: [{ text: `Node-only module "${args.path}" imported by ${args.importer}` }] };
          }
          found.allowed.add(`node:${name}`);
          return { path: args.path, external: true };
        }
        // Optional peers some libraries import dynamically (and survive without) are left out,
        // exactly as wrangler leaves them; they are reported, not bundled.
        if (args.kind === 'dynamic-import' && !args.pluginData?.probing) {
          const resolved = await b.resolve(args.path, {
            kind: args.kind,
            importer: args.importer,
            resolveDir: args.resolveDir,
            pluginData: { probing: true },
          });
          if (resolved.errors.length > 0) {
            found.optional.add(args.path);
            return { path: args.path, external: true };
          }
        }
        return undefined;
      });
    },
  };
}

function bundleForWorkers(entry: string, found = { allowed: new Set<string>(), optional: new Set<string>() }) {
  return build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['browser', 'module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    metafile: true,
    logLevel: 'silent',
    plugins: [edgeRuntimeModules(found)],
  });
}

it('bundles the Worker entry for workerd without Node-only modules, under 1 MiB gzipped', async () => {
  const found = { allowed: new Set<string>(), optional: new Set<string>() };
  const result = await bundleForWorkers('src/edge/worker.ts', found);
  const inputs = Object.keys(result.metafile.inputs);
  for (const pkg of FORBIDDEN_PACKAGES) {
    expect(
      inputs.filter((file) => file.includes(`node_modules/${pkg}/`)),
      `${pkg} must not be in the edge bundle`,
    ).toEqual([]);
  }
  expect(
    inputs.filter((file) => file.startsWith('src/node/')),
    'src/node is Node-only',
  ).toEqual([]);
  expect(inputs).toContain('src/app.ts');
  expect(inputs.some((file) => file.includes('node_modules/postgres/cf/'))).toBe(true);

  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  const gzipped = gzipSync(code).length;
  console.log(
    `edge bundle: ${(code.length / 1024).toFixed(1)} KiB, gzip ${(gzipped / 1024).toFixed(1)} KiB; ` +
      `nodejs_compat modules: ${[...found.allowed].sort().join(', ')}` +
      (found.optional.size > 0 ? `; optional peers left out: ${[...found.optional].sort().join(', ')}` : ''),
  );
  expect(gzipped).toBeLessThan(1024 * 1024);
});

it('fails for code that needs Node (the check bites)', async () => {
  await expect(bundleForWorkers('src/node/node-deps.ts')).rejects.toThrow(/Node-only module/);
});
