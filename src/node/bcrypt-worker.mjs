// One bcrypt job at a time, off the API's event loop (see threaded-password-hasher.ts).
// Plain JavaScript on purpose: a worker thread is loaded by Node itself, without the tsx or
// vitest transform that the TypeScript sources go through.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

parentPort.on('message', (job) => {
  try {
    const result =
      job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ id: job.id, result });
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String(error?.message ?? error) });
  }
});
