import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { beforeAll, expect, it } from 'vitest';
import { buildEdgeBundle, REPO_ROOT } from './edge-build';

/**
 * What the edge ships, checked on wrangler's own build of the Worker (`wrangler deploy
 * --dry-run`, with wrangler.toml's minify and aliases): its gzipped size, and the Portability
 * rule — the only modules left for the runtime to provide are `cloudflare:*` and the Node
 * modules that `nodejs_compat` implements; Node-only packages, src/node and what the edge never
 * runs are not in it at all.
 */

const MAX_GZIP_BYTES = 300 * 1024;

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

/** Schema converters hono-openapi imports dynamically and never needs for zod schemas (unresolved, as on Node). */
const OPTIONAL_PEERS = new Set(['effect', 'sury', '@valibot/to-json-schema', 'zod-openapi']);

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
  // Compiles code (`new Function`), which Workers forbid: @cfworker/json-schema validates instead.
  'ajv',
  'ajv-formats',
  'fast-uri',
];

/** Modules a bundle leaves for the runtime that it does not provide, with who imports them. */
function unavailableModules(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || imported.path === '<runtime>') continue;
      const name = imported.path.replace(/^node:/, '');
      const provided =
        imported.path.startsWith('cloudflare:') ||
        NODEJS_COMPAT.has(name.split('/')[0] as string) ||
        (imported.kind === 'dynamic-import' && OPTIONAL_PEERS.has(imported.path));
      if (!provided) found.push(`${imported.path} (imported by ${file})`);
    }
  }
  return found;
}

let script: Buffer;
let metafile: Metafile;
/** Bytes each input contributed to the shipped module. */
let shipped: Map<string, number>;

beforeAll(async () => {
  const bundle = await buildEdgeBundle();
  script = readFileSync(bundle.script);
  metafile = JSON.parse(readFileSync(bundle.metafile, 'utf8')) as Metafile;
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  shipped = new Map(Object.entries(output?.inputs ?? {}).map(([file, input]) => [file, input.bytesInOutput]));
}, 120_000);

it('ships a Worker under 300 KiB gzipped', () => {
  const gzipped = gzipSync(script).length;
  const byPackage = new Map<string, number>();
  for (const [file, bytes] of shipped) {
    const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
    byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytes);
  }
  const largest = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([owner, bytes]) => `${owner} ${(bytes / 1024).toFixed(0)}`);
  console.log(
    `edge bundle (wrangler, minified): ${(script.length / 1024).toFixed(1)} KiB, gzip ${(gzipped / 1024).toFixed(1)} KiB; ` +
      `largest (KiB minified): ${largest.join(', ')}`,
  );
  expect(gzipped).toBeLessThan(MAX_GZIP_BYTES);
});

it('leaves only cloudflare:* and nodejs_compat modules to the runtime', () => {
  expect(unavailableModules(metafile)).toEqual([]);
});

it('contains no Node-only package, no src/node code and nothing the edge never runs', () => {
  const files = [...shipped].filter(([, bytes]) => bytes > 0).map(([file]) => file);
  for (const pkg of FORBIDDEN_PACKAGES) {
    expect(
      files.filter((file) => file.includes(`node_modules/${pkg}/`)),
      `${pkg} must not be in the edge bundle`,
    ).toEqual([]);
  }
  expect(files.filter((file) => file.startsWith('src/node/'))).toEqual([]);
  // zod's error messages in languages other than English (a namespace a dynamic import would keep).
  expect(files.filter((file) => /zod\/v4\/locales\/(?!en\.js|index\.js)/.test(file))).toEqual([]);
  expect(files).toContain('src/app.ts');
  expect(files.some((file) => file.includes('node_modules/postgres/cf/'))).toBe(true);
});

it('finds code that needs Node (the check bites)', async () => {
  const nodeOnly = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: ['src/node/node-deps.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const unavailable = unavailableModules(nodeOnly.metafile);
  expect(unavailable.some((line) => line.startsWith('node:fs '))).toBe(true);
  expect(unavailable.some((line) => line.startsWith('ioredis '))).toBe(true);
});
