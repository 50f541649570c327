import type { RunStatus } from '../db/schema';
import type { RealtimeStats } from '../realtime/realtime-stats';

/** How a run ended, as far as metrics care (leases and releases are not endings). */
export type RunMetricOutcome = 'completed' | 'failed' | 'cancelled';

/** An MCP `tools/call` that answered (`ok`), answered with `isError` (`tool_error`) or never answered (`error`). */
export type McpCallOutcome = 'ok' | 'tool_error' | 'error';

/**
 * What the app records for operators. Portable: handlers and the run executor only see this
 * interface; the Node entries inject a Prometheus implementation (src/node/prom-metrics.ts),
 * runtimes without a scraper get `noopMetrics`.
 */
export interface Metrics {
  observeHttp(o: { method: string; route: string; status: number; seconds: number }): void;
  observeRun(o: { outcome: RunMetricOutcome; seconds: number }): void;
  observeMcpCall(o: { tool: string; outcome: McpCallOutcome; seconds: number }): void;
  /** Snapshot of `workflow_queue` rows per status, taken right before a scrape. */
  setQueueDepth(counts: Partial<Record<RunStatus, number>>): void;
  /** The realtime gateway's counters, read right before a scrape. */
  setRealtime(stats: RealtimeStats): void;
  /** The exposition a scraper reads. */
  render(): Promise<{ contentType: string; body: string }>;
}

export const noopMetrics: Metrics = {
  observeHttp() {},
  observeRun() {},
  observeMcpCall() {},
  setQueueDepth() {},
  setRealtime() {},
  async render() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# metrics are not collected here\n' };
  },
};
