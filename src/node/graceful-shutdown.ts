import type { Logger } from '../logging/logger';
import { StartupError } from './startup-error';

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits 0; a stop that overruns
 * `deadlineMs` (or throws) exits 1, so a stuck close() can never keep the process alive.
 */
export function onShutdownSignal(logger: Logger, deadlineMs: number, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), deadlineMs).unref();
    try {
      await stop(signal);
      process.exit(0);
    } catch (error) {
      logger.error({ signal, err: { message: (error as Error)?.message } }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Entry points' last line: a start-up failure is one line on stderr and exit 1. */
export function exitOnStartupFailure(error: unknown): never {
  console.error(error instanceof StartupError ? error.message : `fatal: ${(error as Error)?.message ?? error}`);
  process.exit(1);
}
