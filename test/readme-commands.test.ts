import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from './helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, waitForHttp } from './helpers/spawn-node';
import { createEmptyDatabaseUrl, TEST_JWT_SECRET } from './helpers/test-app';

/**
 * Runs the README's examples against a real API (its own Postgres database, in-process runs, the
 * built-in MCP server), as a reader would: every `sh` block in order in one bash session (curl
 * failing on any HTTP error), every `js` block with node, and the `/ws` session's frames on a real
 * socket. A block opts out only with `<!-- readme-commands: skip (why) -->` on the line before it.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const README_HOST = 'localhost:4000';
const ADMIN = { ADMIN_USERNAME: 'ops', ADMIN_EMAIL: 'ops@example.com', ADMIN_PASSWORD: 'ops-password-123' };
const METRICS_TOKEN = 'readme-metrics-token-0123456789';

interface Block {
  lang: string;
  code: string;
  /** README line of the block's first code line. */
  line: number;
  /** From `<!-- readme-commands: KIND (why) -->` right before the block. */
  marker?: string;
}

function readmeBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    let before = i - 1;
    while (before >= 0 && !lines[before]?.trim()) before--;
    const marker = /^<!-- readme-commands: (\S+)/.exec(lines[before] ?? '')?.[1];
    blocks.push({ lang: open[1] ?? '', code: lines.slice(start, end).join('\n'), line: start + 1, marker });
    i = end;
  }
  return blocks;
}

const blocks = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
const shellBlocks = blocks.filter((b) => ['sh', 'bash', 'shell'].includes(b.lang) && !b.marker);
const scriptBlocks = blocks.filter((b) => ['js', 'mjs'].includes(b.lang) && !b.marker);
const wsSession = blocks.find((b) => b.marker === 'ws-session');

let server: SpawnedNode;
let api: string;
let session: { API: string; TOKEN: string };

beforeAll(async () => {
  const port = await freePort();
  api = `127.0.0.1:${port}`;
  server = spawnEntry('src/node/server.ts', {
    BACKEND_PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: await createEmptyDatabaseUrl('readme'),
    JWT_SECRET: TEST_JWT_SECRET,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    METRICS_TOKEN,
    ...ADMIN,
  });
  await waitForHttp(`http://${api}/health/live`);
}, PROCESS_HOOK_MS);

afterAll(() => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
});

const onTestServer = (code: string) => code.replaceAll(README_HOST, api);

/**
 * Runs a command in a process group of its own; past `timeoutMs` the whole group is killed, so
 * nothing a README command started (a server, say) outlives the test.
 */
function runGroup(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const killGroup = () => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    stderr += `\n(killed after ${timeoutMs} ms)`;
    killGroup();
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (status) => {
      clearTimeout(timer);
      killGroup();
      resolve({ status, stdout, stderr });
    });
  });
}

describe('README commands', () => {
  it('finds the blocks: shell examples, node scripts, a /ws session, and says why any block is skipped', () => {
    expect(shellBlocks.length).toBeGreaterThanOrEqual(5);
    expect(scriptBlocks.length).toBeGreaterThanOrEqual(2);
    expect(wsSession).toBeDefined();
    const text = readFileSync(join(root, 'README.md'), 'utf8');
    for (const skip of text.match(/<!-- readme-commands: skip.*-->/g) ?? []) expect(skip).toMatch(/skip \(.+\)/);
    // The README stands on its own: nothing points at files outside the repository.
    expect(text).not.toMatch(/\.\.\/shared|SPEC\.md/);
  });

  it('runs every shell block in order in one bash session, each curl answered without an HTTP error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wfp-readme-'));
    const stateFile = join(dir, 'state.json');
    const script = [
      'set -euo pipefail',
      // Any 4xx/5xx fails the command (and the session), with the error body printed.
      'curl() { command curl --fail-with-body "$@"; }',
      ...shellBlocks.map((b) => `echo "--- README.md line ${b.line}" >&2\n${onTestServer(b.code)}`),
      `jq -n --arg API "$API" --arg TOKEN "$TOKEN" '{$API, $TOKEN}' > ${JSON.stringify(stateFile)}`,
    ].join('\n');
    const result = await runGroup(
      'bash',
      ['-c', script],
      { PATH: process.env.PATH, HOME: process.env.HOME, METRICS_TOKEN, ...ADMIN },
      120_000,
    );
    try {
      expect(result.status, `${result.stderr}\n${result.stdout.slice(-3000)}`).toBe(0);
      session = JSON.parse(readFileSync(stateFile, 'utf8'));
      expect(session.TOKEN).toMatch(/^ey/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('runs every js block with node (Node 20 included)', async () => {
    expect(session, 'needs the shell session').toBeDefined();
    // Inside node_modules so the scripts' imports resolve to this checkout's packages.
    const dir = join(root, 'node_modules', '.readme-commands');
    mkdirSync(dir, { recursive: true });
    const scriptsDir = mkdtempSync(join(dir, 'run-'));
    try {
      for (const block of scriptBlocks) {
        const file = join(scriptsDir, `line-${block.line}.mjs`);
        writeFileSync(file, block.code);
        const result = await runGroup(
          process.execPath,
          [file],
          { PATH: process.env.PATH, HOME: process.env.HOME, API: `http://${api}`, TOKEN: session.TOKEN },
          60_000,
        );
        expect(result.status, `README.md line ${block.line}: ${result.stderr}`).toBe(0);
      }
    } finally {
      rmSync(scriptsDir, { recursive: true, force: true });
    }
  }, 150_000);

  it("sends the /ws session's frames on a real socket: each acknowledged as the comments say, no error", async () => {
    expect(session, 'needs the shell session').toBeDefined();
    const [command = '', ...frameLines] = (wsSession as Block).code.split('\n');
    const url = /"(wss?:\/\/[^"]+)"/.exec(command)?.[1]?.replace('$TOKEN', session.TOKEN) as string;
    const frames = frameLines
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => ({ frame: l.replace(/\s+#.*$/, '').trim(), reply: /→ \{"event":"([\w-]+)"/.exec(l)?.[1] }));
    expect(frames.length).toBeGreaterThanOrEqual(4);

    const ws = new WebSocket(onTestServer(url));
    const received: { event: string; payload: unknown }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { event: string; payload: unknown };
        received.push(message);
        if (message.event === 'pong') resolve();
      });
    });
    for (const { frame } of frames) ws.send(frame);
    // Frames are handled in order: the pong to a last ping means every frame above was handled.
    ws.send(JSON.stringify({ event: 'ping', channel: '', payload: {} }));
    await done;
    ws.close();
    expect(received.filter((m) => m.event === 'error')).toEqual([]);
    for (const { reply } of frames) if (reply) expect(received.map((m) => m.event)).toContain(reply);
  });
});
