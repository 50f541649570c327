import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// `npm install` warns EBADENGINE for every installed package whose `engines.node` the running Node
// does not satisfy. This checks the lockfile against every Node major our own `engines` claims, at
// the lowest version it claims there (where a package's lower bound bites).

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(`${root}/package-lock.json`, 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

/** The lowest version of each Node major from 18 to 30 that `range` admits. */
function claimedVersions(range: string): string[] {
  const versions: string[] = [];
  for (let major = 18; major <= 30; major++) {
    const lowest = new semver.Range(range).set
      .map((comparators) => comparators.map((c) => c.value).join(' '))
      .map((set) => semver.minVersion(new semver.Range(`${set} >=${major}.0.0 <${major + 1}.0.0-0`)))
      .filter((v): v is semver.SemVer => v !== null && semver.satisfies(v, range))
      .sort(semver.compare)[0];
    if (lowest) versions.push(lowest.version);
  }
  return versions;
}

describe('package engines', () => {
  const claimed = claimedVersions(pkg.engines.node);

  it('claims Node 20 and 22 and the Node running the tests', () => {
    expect(claimed.some((v) => v.startsWith('20.'))).toBe(true);
    expect(claimed.some((v) => v.startsWith('22.'))).toBe(true);
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });

  it('installs no package whose engines exclude a Node version we claim (no EBADENGINE)', () => {
    const conflicts: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      // Optional platform packages for other systems are not installed here, and npm skips them.
      if (!path || !range || !existsSync(`${root}/${path}/package.json`)) continue;
      for (const version of claimed) {
        if (!semver.satisfies(version, range, { includePrerelease: true })) {
          conflicts.push(
            `${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}, not ${version}`,
          );
        }
      }
    }
    expect(conflicts).toEqual([]);
  });
});
