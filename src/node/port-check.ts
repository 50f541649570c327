import { createServer } from 'node:net';
import { StartupError } from './startup-error';

/** The port the API should listen on cannot be had: one line naming what to change. */
export class PortUnavailableError extends StartupError {
  constructor(
    readonly port: number,
    readonly code: string,
  ) {
    super(
      code === 'EADDRINUSE'
        ? `port ${port} is in use; set BACKEND_PORT`
        : code === 'EADDRNOTAVAIL'
          ? `the HOST address is not on this machine (${code}); set HOST`
          : `port ${port} cannot be opened (${code}); set BACKEND_PORT`,
    );
  }
}

/** Turns a listen error into PortUnavailableError; anything else as it was. */
export function portError(error: unknown, port: number): unknown {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^EADDR|^EACCES$/.test(code) ? new PortUnavailableError(port, code) : error;
}

/**
 * Binds and releases `port` on `host`, so a taken port fails the start at once, before the
 * database is opened (the embedded one takes many seconds). The real listen reports the same
 * error should the port be taken in between.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => reject(portError(error, port)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
