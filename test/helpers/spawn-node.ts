import { type ChildProcess, spawn } from 'node:child_process';

export interface SpawnedNode {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs a TypeScript entry point (`src/node/*.ts`) as a real child process, capturing its output. */
export function spawnEntry(entry: string, env: Record<string, string | undefined>): SpawnedNode {
  // `node --import tsx`, not the tsx wrapper: a signal sent to the wrapper (SIGKILL above all)
  // would not reach the server, leaving it running after the test.
  return spawnNode(['--import', 'tsx', entry], env);
}

/** `node <args>` as a real child process with only `env` (plus PATH and HOME), capturing its output. */
export function spawnNode(args: string[], env: Record<string, string | undefined>, cwd?: string): SpawnedNode {
  return spawnProcess(process.execPath, args, env, { cwd });
}

/** Any command as a real child process with only `env` (plus PATH and HOME), capturing its output. */
export function spawnProcess(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; detached?: boolean } = {},
): SpawnedNode {
  const child = spawn(command, args, {
    ...options,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * How long a test waits for a Node process it started to be ready. Starting one costs seconds
 * of CPU (tsx compiles and loads the app); on a shared two-core machine, next to the suite's
 * other processes, that has taken over 30 s of wall time. The bound only turns a process that
 * never comes up into a failure with its output; it says nothing about speed.
 */
export const PROCESS_START_MS = 90_000;

/** A hook that starts processes, each within PROCESS_START_MS, may take this long. */
export const PROCESS_HOOK_MS = 2 * PROCESS_START_MS + 30_000;

export async function waitForHttp(url: string, timeoutMs = PROCESS_START_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}
