import { spawnSync } from 'node:child_process';

/**
 * `promtool check metrics` (Debian's `prometheus` package; .ci/run installs it) on an exposition:
 * its findings, one per line, or '' when the exposition passes.
 */
export function promtoolFindings(exposition: string): string {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool is needed (apt-get install prometheus): ${result.error.message}`);
  const findings = `${result.stdout}${result.stderr}`.trim();
  return result.status === 0 ? findings : findings || `promtool exited ${result.status}`;
}
