import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROCESS_START_MS } from '../helpers/spawn-node';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Fast settings so fault tests take seconds: short leases, stalled checks and reconcile passes. */
export const FAST_WORKER_ENV = {
  RUN_LEASE_MS: '1500',
  RUN_HEARTBEAT_MS: '200',
  WORKER_LOCK_DURATION_MS: '1500',
  WORKER_STALLED_INTERVAL_MS: '500',
  RECONCILE_INTERVAL_MS: '300',
  RECONCILE_GRACE_MS: '300',
  STEP_RETRY_BASE_MS: '100',
  WORKER_CONCURRENCY: '4',
};

export interface WorkerProcess {
  child: ChildProcess;
  output: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** The worker's JSON log lines so far (what it printed that parses as JSON). */
export function logLines(worker: WorkerProcess): Array<Record<string, unknown>> {
  return worker.output
    .join('')
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

/** `npm run worker` as a real child process (so SIGKILL is real), resolved once it takes jobs. */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/node/worker.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...FAST_WORKER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (chunk.toString().includes('"worker started"')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    void exited.then((code) => reject(new Error(`worker exited early (${code}): ${output.join('')}`)));
    setTimeout(() => reject(new Error(`worker did not start: ${output.join('')}`)), PROCESS_START_MS);
  });
  // A worker that never reported ready (a slow machine, a bad config) must not outlive the test.
  await started.catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    output,
    exited,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
