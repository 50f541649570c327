import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PasswordHasher } from '../auth/passwords';

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

interface Pending {
  job: Job & { id: number };
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const WORKER_URL = new URL('./bcrypt-worker.mjs', import.meta.url);

/** Leaves a core to the event loop, the load generator of a benchmark or Postgres; at most 4 threads. */
export function defaultBcryptThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}

/**
 * bcrypt on worker threads. bcryptjs' async API only yields between chunks of up to 100 ms, so
 * a burst of logins in the main thread held every other request for seconds
 * (bench/http.ts: /health p99 2.7 s during 20 concurrent logins). Node only, injected through
 * AppDeps. Threads start on first use and do not keep the process alive while idle.
 */
export class ThreadedPasswordHasher extends PasswordHasher {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private started = 0;
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly bcryptCost: number,
    private readonly threads = defaultBcryptThreads(),
  ) {
    super(bcryptCost);
  }

  override hash(password: string): Promise<string> {
    return this.run({ op: 'hash', password, cost: this.bcryptCost }) as Promise<string>;
  }

  override verify(password: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private run(job: Job): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('password hasher is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.threads ? this.spawn() : undefined);
      if (!worker) return;
      const pending = this.queue.shift() as Pending;
      this.busy.set(worker, pending);
      worker.ref();
      worker.postMessage(pending.job);
    }
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(WORKER_URL);
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      if (!this.closed) this.idle.push(worker);
      if (pending) {
        if (message.error !== undefined) pending.reject(new Error(`bcrypt failed: ${message.error}`));
        else pending.resolve(message.result);
      }
      this.dispatch();
    });
    // A dead thread fails its job and is replaced on demand.
    const retire = (error: Error) => {
      if (!this.busy.has(worker) && !this.idle.includes(worker)) return;
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      const index = this.idle.indexOf(worker);
      if (index >= 0) this.idle.splice(index, 1);
      this.started--;
      pending?.reject(error);
      if (!this.closed) this.dispatch();
    };
    worker.on('error', retire);
    worker.on('exit', (code) => retire(new Error(`bcrypt worker exited with code ${code}`)));
    return worker;
  }
}
