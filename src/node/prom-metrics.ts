import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { McpCallOutcome, McpCallVia, Metrics, RunMetricOutcome } from '../observability/metrics';
import type { RealtimeStats } from '../realtime/realtime-stats';

/** Tool names come from workflow definitions users write: past this many, new names are counted as "other". */
const MAX_TOOL_LABELS = 100;
const TOOL_LABEL = /^[A-Za-z0-9_.:/-]{1,64}$/;

export interface PromMetrics extends Metrics {
  readonly registry: Registry;
}

/**
 * prom-client's default metrics include three gauges named `nodejs_active_*_total`, a suffix
 * Prometheus reserves for counters (`promtool check metrics` refuses them). Their per-type
 * siblings (`nodejs_active_handles`, `nodejs_active_requests`, `nodejs_active_resources`) say
 * the same, summed by the query.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
}

/**
 * Prometheus metrics with prom-client, in a registry of their own (several apps in one test
 * process never share counters). `process` labels which entry serves them (api, worker); the
 * HTTP, WebSocket and /mcp gateway series exist only where they are served (`servesHttp`, the API).
 */
export function createPromMetrics(
  options: { process?: string; defaultMetrics?: boolean; servesHttp?: boolean } = {},
): PromMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ process: options.process ?? 'api' });
  if (options.defaultMetrics !== false) collectProcessMetrics(registry);
  const httpRegisters = options.servesHttp === false ? [] : [registry];

  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: httpRegisters,
  });
  const runs = new Counter({
    name: 'workflow_runs_total',
    help: 'Workflow runs finished, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'workflow_run_duration_seconds',
    help: 'Workflow run duration from its first start to its end, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'workflow_run_queue_wait_seconds',
    help: 'Time from a run being queued (created) to its first start',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  const liveWorkers = new Gauge({
    name: 'workflow_workers',
    help: 'Workers consuming the workflow queue (BullMQ worker list), counted by the API at scrape time',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'workflow_queue_depth',
    help: 'workflow_queue rows by status, counted at scrape time',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const wsConnections = new Gauge({
    name: 'ws_connections',
    help: 'WebSocket connections open on this process',
    registers: httpRegisters,
  });
  const wsConnectionsTotal = new Counter({
    name: 'ws_connections_total',
    help: 'WebSocket connections accepted by this process',
    registers: httpRegisters,
  });
  const wsMessages = new Counter({
    name: 'ws_messages_total',
    help: 'WebSocket messages, by direction (in: from clients, out: to clients)',
    labelNames: ['direction'] as const,
    registers: httpRegisters,
  });
  const mcpCalls = new Histogram({
    name: 'mcp_call_duration_seconds',
    help: 'MCP tools/call duration by tool, outcome and caller (via: runs or gateway)',
    labelNames: ['tool', 'outcome', 'via'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const mcpSessions = new Gauge({
    name: 'mcp_gateway_sessions',
    help: 'Open /mcp gateway sessions by transport',
    labelNames: ['transport'] as const,
    registers: httpRegisters,
  });

  const httpChildren = new Map<string, { observe(seconds: number): void }>();
  const tools = new Set<string>();
  const toolLabel = (tool: string) => {
    if (!TOOL_LABEL.test(tool)) return 'other';
    if (tools.has(tool)) return tool;
    if (tools.size >= MAX_TOOL_LABELS) return 'other';
    tools.add(tool);
    return tool;
  };
  // The gateway's counters only grow; the counters here follow them by their increase.
  const seen = { connectionsTotal: 0, messagesIn: 0, messagesOut: 0 };
  const follow = (counter: { inc(n: number): void }, key: keyof typeof seen, value: number) => {
    if (value > seen[key]) counter.inc(value - seen[key]);
    seen[key] = value;
  };

  return {
    registry,
    observeHttp({ method, route, status, seconds }) {
      // A child per label set, looked up by one string: prom-client would otherwise hash the
      // label object on every request. Routes and methods are bounded, so is this map.
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) {
        child = http.labels({ method, route, status: String(status) });
        httpChildren.set(key, child);
      }
      child.observe(seconds);
    },
    observeRun({ outcome, seconds }: { outcome: RunMetricOutcome; seconds: number }) {
      runs.inc({ outcome });
      runDuration.observe({ outcome }, seconds);
    },
    observeQueueWait(seconds: number) {
      queueWait.observe(seconds);
    },
    observeMcpCall({
      tool,
      outcome,
      seconds,
      via,
    }: {
      tool: string;
      outcome: McpCallOutcome;
      seconds: number;
      via: McpCallVia;
    }) {
      mcpCalls.observe({ tool: toolLabel(tool), outcome, via }, seconds);
    },
    setMcpSessions(active) {
      for (const [transport, value] of Object.entries(active)) mcpSessions.set({ transport }, value);
    },
    setQueueDepth(counts) {
      for (const [status, value] of Object.entries(counts)) queueDepth.set({ status }, value ?? 0);
    },
    setLiveWorkers(queue: string, count: number) {
      liveWorkers.set({ queue }, count);
    },
    setRealtime(stats: RealtimeStats) {
      wsConnections.set(stats.connections);
      follow(wsConnectionsTotal, 'connectionsTotal', stats.connectionsTotal);
      follow(wsMessages.labels('in'), 'messagesIn', stats.messagesIn);
      follow(wsMessages.labels('out'), 'messagesOut', stats.messagesOut);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
