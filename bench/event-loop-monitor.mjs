// Bench-only preload (`node --import ./bench/event-loop-monitor.mjs ...`): measures the event-loop
// delay and the GC pauses of the process it is loaded into, without touching the product. The
// bench sends SIGUSR2 at the end of each phase; the process then writes what it measured since
// the previous signal to EVENT_LOOP_REPORT (JSON) and starts over.
//
// Reported per phase: delay p50/p99/max (ms) from `monitorEventLoopDelay`; the stalls a 10 ms timer
// sees (start offset and length, to match with a --cpu-prof profile), each split into time the
// main thread ran and time it waited for a CPU (other processes on a shared machine), from
// /proc schedstat; GC pauses by kind (count, total and longest ms).
import { readFileSync, writeFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const reportPath = process.env.EVENT_LOOP_REPORT;
if (reportPath) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let phaseStart = performance.now();
  let stalls = [];
  let gc = {};

  // The main thread's time on a CPU and runnable-but-waiting (ns) from the scheduler: a stall
  // the loop spent waiting for a CPU was the machine's doing, one spent running was the API's.
  const schedstat = `/proc/${process.pid}/task/${process.pid}/schedstat`;
  const sched = () => {
    try {
      const [running, waiting] = readFileSync(schedstat, 'utf8').split(' ').map(Number);
      return { running, waiting };
    } catch {
      return { running: 0, waiting: 0 };
    }
  };
  let last = performance.now();
  let lastSched = sched();
  const TICK_MS = 10;
  setInterval(() => {
    const now = performance.now();
    const nowSched = sched();
    const late = now - last - TICK_MS;
    if (late >= 50) {
      stalls.push({
        atMs: Math.round(last - phaseStart),
        ms: Math.round(late),
        runningMs: Math.round((nowSched.running - lastSched.running) / 1e6),
        waitingMs: Math.round((nowSched.waiting - lastSched.waiting) / 1e6),
      });
    }
    last = now;
    lastSched = nowSched;
  }, TICK_MS).unref();

  const gcKinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKinds[entry.detail?.kind] ?? 'other';
      gc[kind] = gc[kind] ?? { count: 0, totalMs: 0, maxMs: 0 };
      const slot = gc[kind];
      slot.count++;
      slot.totalMs += entry.duration;
      slot.maxMs = Math.max(slot.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });

  const ms = (ns) => Math.round((ns / 1e6) * 10) / 10;
  process.on('SIGUSR2', () => {
    const report = {
      phaseMs: Math.round(performance.now() - phaseStart),
      delay: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) },
      stalls: stalls.sort((a, b) => b.ms - a.ms).slice(0, 10),
      // The longest stretches the loop spent running without reaching its timers: the API's own long tasks.
      longestRunningMs: stalls
        .map((s) => s.runningMs)
        .sort((a, b) => b - a)
        .slice(0, 5),
      stallsOver50ms: stalls.length,
      stallMsTotal: stalls.reduce((sum, s) => sum + s.ms, 0),
      gc: Object.fromEntries(
        Object.entries(gc).map(([kind, s]) => [
          kind,
          { count: s.count, totalMs: Math.round(s.totalMs), maxMs: Math.round(s.maxMs) },
        ]),
      ),
    };
    writeFileSync(reportPath, JSON.stringify(report));
    histogram.reset();
    stalls = [];
    gc = {};
    phaseStart = performance.now();
  });
}
