import { existsSync, readFileSync } from 'node:fs';

/** utime + stime of a process in ms, from /proc (ticks of 10 ms); 0 where /proc is not available. */
export function cpuMs(pid) {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
