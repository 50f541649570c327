import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = join(ROOT, 'node_modules/.bin/biome');
const NODE_ONLY = ['node:fs', 'fs', 'bullmq', 'ioredis', 'pino', 'ws', 'prom-client', 'ioredis/built/utils'];

interface Diagnostic {
  category: string;
  location: { path: { file: string } | string };
}

/**
 * The repository's own biome.json, applied to probe files laid out as in src/: the portability
 * rule (nothing outside src/node imports Node-only modules) is Biome's `noRestrictedImports`,
 * so this shows the configuration says what the README promises.
 */
describe('portability rule (biome.json noRestrictedImports)', () => {
  let dir: string;
  const probes: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'portability-'));
    const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8'));
    delete config.$schema;
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    NODE_ONLY.forEach((module, i) => {
      for (const folder of ['src/routes', 'src/runs', 'src/edge', 'src/node', 'src/node/nested']) {
        probes[`${folder}/probe${i}.ts`] = `import * as m from '${module}';\nexport const probe = m;\n`;
      }
    });
    probes['src/edge/async-scope.ts'] =
      "import { AsyncLocalStorage } from 'node:async_hooks';\nexport const s = AsyncLocalStorage;\n";
    probes['src/routes/async-scope.ts'] = probes['src/edge/async-scope.ts'];
    probes['src/routes/portable.ts'] = "import { Hono } from 'hono';\nexport const app = new Hono();\n";
    for (const [path, text] of Object.entries(probes)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function restrictedFiles(): Promise<Set<string>> {
    const run = await promisify(execFile)(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', 'src'], {
      cwd: dir,
    }).catch((error: { stdout: string }) => error);
    const report = JSON.parse(run.stdout) as { diagnostics: Diagnostic[] };
    return new Set(
      report.diagnostics
        .filter((d) => d.category === 'lint/style/noRestrictedImports')
        .map((d) => {
          const path = d.location.path;
          return typeof path === 'string' ? path : path.file;
        }),
    );
  }

  it('refuses Node-only modules everywhere in src/ but src/node/, and node:async_hooks outside src/edge/', async () => {
    const flagged = await restrictedFiles();
    const expected = Object.keys(probes).filter(
      (path) => !path.startsWith('src/node/') && !path.endsWith('portable.ts') && path !== 'src/edge/async-scope.ts',
    );
    expect([...flagged].sort()).toEqual(expected.sort());
  });
});
