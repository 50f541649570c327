// What the edge benchmarks share: a checkout's deployable Worker bundle (wrangler's own build),
// the Miniflare settings its wrangler.toml implies, a checkout of an older commit to compare
// against, and a bundle started in its own workerd (whose CPU time comes from /proc).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `wrangler deploy --dry-run` in `checkout`: the module it would upload. */
export async function buildBundle(checkout) {
  const outdir = mkdtempSync(join(tmpdir(), 'wfp-edge-bench-'));
  await promisify(execFile)('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: checkout,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    timeout: 180_000,
  });
  return readFileSync(join(outdir, 'worker.js'), 'utf8');
}

/** Compatibility date and flags, and the Durable Object bindings, of `checkout`'s wrangler.toml. */
export function miniflareSettings(checkout) {
  const toml = readFileSync(join(checkout, 'wrangler.toml'), 'utf8');
  return {
    compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)[1],
    compatibilityFlags: [.../^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)[1].matchAll(/"([^"]+)"/g)].map(
      (m) => m[1],
    ),
    durableObjects: Object.fromEntries(
      [...toml.matchAll(/^\[\[durable_objects\.bindings\]\]\nname\s*=\s*"([^"]+)"\nclass_name\s*=\s*"([^"]+)"/gm)].map(
        (m) => [m[1], m[2]],
      ),
    ),
  };
}

/** The tree of commit `ref` in a temporary directory, sharing this checkout's node_modules. */
export function checkoutOf(ref) {
  const dir = mkdtempSync(join(tmpdir(), 'wfp-edge-ref-'));
  execFileSync('bash', ['-c', `git -C "${ROOT}" archive "${ref}" | tar -x -C "${dir}"`]);
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * `candidate` (a bundle with its Miniflare settings) served on 127.0.0.1 by a workerd of its own:
 * its URL, the workerd's pid (for its CPU time) and `dispose`.
 */
export async function startWorkerd(candidate, bindings) {
  const before = new Set(workerdChildren());
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.js', contents: candidate.script }],
    compatibilityDate: candidate.compatibilityDate,
    compatibilityFlags: candidate.compatibilityFlags,
    durableObjects: candidate.durableObjects,
    bindings: { NODE_ENV: 'production', ...bindings },
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, pid: workerdChildren().find((p) => !before.has(p)), dispose: () => mf.dispose() };
}

/** workerd processes this process started (Miniflare spawns one per instance). */
function workerdChildren() {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8').trim();
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
      if (comm === 'workerd' && Number(rest.split(' ')[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
