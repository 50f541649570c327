// `npm run build`: the Node entry points compiled to plain JavaScript under dist/, which is what
// the container runs (`node dist/node/server.js`): nothing in the image runs TypeScript.
// Each entry is one ES module bundle of our own code; packages stay imports of node_modules.
// The layout mirrors src/ (dist/node/*.js), so paths the code resolves from its own location
// (`../../drizzle` for migrations, `./bcrypt-worker.mjs` for the hashing threads) hold in both.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const ENTRY_POINTS = ['server', 'worker', 'mcp-server', 'migrate'].map((name) => `src/node/${name}.ts`);

/** Files a bundle loads by path at run time, copied next to it. */
const RUNTIME_FILES = ['src/node/bcrypt-worker.mjs'];

/** Builds into `outdir` (default: dist/ of this checkout); resolves with esbuild's metafile. */
export async function build({ outdir = join(ROOT, 'dist') }: { outdir?: string } = {}): Promise<esbuild.Metafile> {
  rmSync(join(outdir, 'node'), { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    outbase: 'src',
    outdir,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
  });
  mkdirSync(join(outdir, 'node'), { recursive: true });
  for (const file of RUNTIME_FILES) copyFileSync(join(ROOT, file), join(outdir, file.replace(/^src\//, '')));
  return result.metafile as esbuild.Metafile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const metafile = await build();
  for (const [file, { bytes }] of Object.entries(metafile.outputs)) {
    if (file.endsWith('.js')) console.log(`${file}  ${(bytes / 1024).toFixed(0)} KiB`);
  }
}
