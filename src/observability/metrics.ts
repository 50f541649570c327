import type { RunStatus } from '../db/schema';
import type { RealtimeStats } from '../realtime/realtime-stats';

/** How a run ended, as far as metrics care (leases and releases are not endings). */
export type RunMetricOutcome = 'completed' | 'failed' | 'cancelled';

/**
 * How an MCP `tools/call` ended: `ok`, `tool_error` (the tool reported `isError`), `error` (no
 * usable answer); through the /mcp gateway also `refused`, `timeout`, `cancelled`, `unavailable`.
 */
export type McpCallOutcome = string;

/** Who made the call: a workflow run's step, or an MCP client through the /mcp gateway. */
export type McpCallVia = 'runs' | 'gateway';

/**
 * What the app records for operators. Portable: handlers and the run executor only see this
 * interface; the Node entries inject a Prometheus implementation (src/node/prom-metrics.ts),
 * runtimes without a scraper get `noopMetrics`.
 */
export interface Metrics {
  observeHttp(o: { method: string; route: string; status: number; seconds: number }): void;
  observeRun(o: { outcome: RunMetricOutcome; seconds: number }): void;
  /** A run's first start: how long it waited from being written (created) to being taken (started). */
  observeQueueWait(seconds: number): void;
  observeMcpCall(o: { tool: string; outcome: McpCallOutcome; seconds: number; via: McpCallVia }): void;
  /** Snapshot of `workflow_queue` rows per status, taken right before a scrape. */
  setQueueDepth(counts: Partial<Record<RunStatus, number>>): void;
  /** The realtime gateway's counters, read right before a scrape. */
  setRealtime(stats: RealtimeStats): void;
  /** Workers consuming the run queue (BullMQ's worker list), read right before a scrape. */
  setLiveWorkers(queue: string, count: number): void;
  /** Open /mcp gateway sessions per transport, read right before a scrape. */
  setMcpSessions(active: Record<string, number>): void;
  /** The exposition a scraper reads. */
  render(): Promise<{ contentType: string; body: string }>;
}

export const noopMetrics: Metrics = {
  observeHttp() {},
  observeRun() {},
  observeQueueWait() {},
  observeMcpCall() {},
  setQueueDepth() {},
  setRealtime() {},
  setLiveWorkers() {},
  setMcpSessions() {},
  async render() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# metrics are not collected here\n' };
  },
};
