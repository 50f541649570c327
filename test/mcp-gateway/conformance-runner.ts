import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, a dev
 * dependency) against a server URL. The package needs Node ≥ 22 (`fs.globSync`); the tests run
 * on Node 20, so it runs on the `node@22` package's binary, fetched by npx (pinned; .ci/run
 * fetches it ahead).
 */

export const NODE22_PACKAGE = 'node@22.23.3';

const conformanceEntry = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json')),
  'dist',
  'index.js',
);

function run(command: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // The suite exits 1 when a check fails: the verdicts are read from its output files.
      if (error && typeof error.code !== 'number') reject(Object.assign(error, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

let node22: Promise<string> | undefined;

/** The path of a Node 22 binary (npx caches the package). */
export function node22Binary(): Promise<string> {
  node22 ??= run('npx', ['--yes', NODE22_PACKAGE, '-p', 'process.execPath'], 180_000).then(({ stdout }) => {
    const path = stdout.trim().split('\n').pop() ?? '';
    if (!path) throw new Error(`npx ${NODE22_PACKAGE} printed no path`);
    return path;
  });
  return node22;
}

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO';

/** A scenario's verdict: each check that passes judgement (not INFO), `id: STATUS`, in order. */
export type Verdicts = Map<string, string[]>;

const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Runs `--suite all` (every server scenario, pending ones included) against `url`. */
export async function runConformanceSuite(url: string, timeoutMs = 240_000): Promise<Verdicts> {
  const out = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  try {
    const node = await node22Binary();
    await run(node, [conformanceEntry, 'server', '--url', url, '--suite', 'all', '-o', out], timeoutMs);
    const verdicts: Verdicts = new Map();
    for (const entry of readdirSync(out)) {
      const scenario = RESULT_DIR.exec(entry)?.[1];
      if (!scenario) continue;
      const checks = JSON.parse(readFileSync(join(out, entry, 'checks.json'), 'utf8')) as Array<{
        id: string;
        status: CheckStatus;
      }>;
      verdicts.set(
        scenario,
        checks.filter((check) => check.status !== 'INFO').map((check) => `${check.id}: ${check.status}`),
      );
    }
    return verdicts;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
