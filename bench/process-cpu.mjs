import { existsSync, readFileSync } from 'node:fs';

/** utime + stime of a process in ms, from /proc (ticks of 10 ms); 0 where /proc is not available. */
export function cpuMs(pid) {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The main thread of a process (the event loop): ms on a CPU and ms runnable but waiting for one,
 * from /proc/<pid>/schedstat. Waiting is time other processes on the machine took from it.
 */
export function mainThreadSchedMs(pid) {
  const path = `/proc/${pid}/task/${pid}/schedstat`;
  if (!pid || !existsSync(path)) return { running: 0, waiting: 0 };
  const [running, waiting] = readFileSync(path, 'utf8').split(' ').map(Number);
  return { running: running / 1e6, waiting: waiting / 1e6 };
}

/** Read and write system calls made so far by a process (socket reads and writes, mostly); 0 where /proc is not available. */
export function syscalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
  } catch {
    return 0;
  }
}
