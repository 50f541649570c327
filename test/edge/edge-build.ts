import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The compatibility settings of wrangler.toml, so the tests run the Worker exactly as configured. */
export function wranglerCompatibility(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date || flags === undefined) throw new Error('wrangler.toml lacks compatibility_date or compatibility_flags');
  return {
    compatibilityDate: date,
    compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string),
  };
}

/** wrangler.toml's Durable Object bindings: binding name → class name. */
export function wranglerDurableObjects(): Record<string, string> {
  const toml = readFileSync(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const bindings = toml.matchAll(
    /^\[\[durable_objects\.bindings\]\]\nname\s*=\s*"([^"]+)"\nclass_name\s*=\s*"([^"]+)"/gm,
  );
  return Object.fromEntries([...bindings].map((m) => [m[1] as string, m[2] as string]));
}

/** wrangler.toml's `[assets]`: the directory (filled by its `[build]` step) and the binding's name. */
export function wranglerAssets(): { directory: string; binding: string } {
  const toml = readFileSync(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const section = /^\[assets\]\n((?:[^[].*\n?)*)/m.exec(toml)?.[1] ?? '';
  const directory = /^directory\s*=\s*"([^"]+)"/m.exec(section)?.[1];
  const binding = /^binding\s*=\s*"([^"]+)"/m.exec(section)?.[1];
  if (!directory || !binding) throw new Error('wrangler.toml lacks [assets] directory or binding');
  return { directory: join(REPO_ROOT, directory), binding };
}

export interface EdgeBundle {
  /** The bundled module, as `wrangler deploy` uploads it. */
  script: string;
  /** esbuild's metafile of that build: every input, what it imports, what reached the output. */
  metafile: string;
}

/**
 * `npm run build:edge -- --outdir DIR --metafile`: the deployable bundle, built by wrangler
 * exactly as `wrangler deploy` would upload it (wrangler.toml's minify and aliases included).
 */
export async function buildEdgeBundle(): Promise<EdgeBundle> {
  const outdir = mkdtempSync(join(tmpdir(), 'wfp-edge-'));
  await promisify(execFile)('npm', ['run', 'build:edge', '--', '--outdir', outdir, '--metafile'], {
    cwd: REPO_ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { script: join(outdir, 'worker.js'), metafile: join(outdir, 'bundle-meta.json') };
}
