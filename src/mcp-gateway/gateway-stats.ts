/**
 * How a `tools/call` through the gateway ended:
 * - `ok`: the tool ran; `tool_error`: the tool ran and reported an error (`isError`);
 * - `error`: the upstream answered with a JSON-RPC error (unknown tool, bad arguments...);
 * - `refused`: the allow-list refused it, the upstream never saw it;
 * - `timeout`: no answer within MCP_UPSTREAM_TIMEOUT_MS; `cancelled`: the client cancelled it or left;
 * - `unavailable`: the upstream could not be reached or closed the session.
 */
export type ToolCallOutcome = 'ok' | 'tool_error' | 'error' | 'refused' | 'timeout' | 'cancelled' | 'unavailable';

export type GatewayTransportKind = 'streamable-http' | 'websocket' | 'stateless';

export interface ToolCallRecord {
  userId: string;
  tool: string;
  outcome: ToolCallOutcome;
  durationMs: number;
  transport: GatewayTransportKind;
}

export interface ToolCallCount {
  tool: string;
  outcome: ToolCallOutcome;
  count: number;
  /** Sum of durations, for an average; export `onToolCall` records for histograms. */
  durationMsSum: number;
}

export interface GatewayStatsSnapshot {
  activeSessions: Record<GatewayTransportKind, number>;
  sessionsOpened: Record<GatewayTransportKind, number>;
  /** Sessions refused by the per-user or global cap. */
  sessionsRejected: number;
  /** Sessions closed to make room for a new one (an abandoned one of the same user, or one of whoever holds the most). */
  sessionsRetired: number;
  /** Sessions that could not be opened because the upstream was unreachable. */
  upstreamConnectFailures: number;
  toolCalls: ToolCallCount[];
}

// Tool names come from clients; beyond this many distinct names they are counted as one,
// so a client inventing names cannot grow memory or metric cardinality without bound.
const MAX_TOOL_LABELS = 200;
export const OTHER_TOOLS_LABEL = '(other)';

const byKind = (): Record<GatewayTransportKind, number> => ({ 'streamable-http': 0, websocket: 0, stateless: 0 });

/** Counters of the /mcp gateway, for /metrics (the operators' Prometheus exporter reads `snapshot()`). */
export class McpGatewayStats {
  private readonly active = byKind();
  private readonly opened = byKind();
  private rejected = 0;
  private retired = 0;
  private connectFailures = 0;
  private readonly calls = new Map<string, ToolCallCount>();
  private readonly tools = new Set<string>();
  private readonly listeners = new Set<(record: ToolCallRecord) => void>();

  sessionOpened(kind: GatewayTransportKind): void {
    this.opened[kind]++;
    this.active[kind]++;
  }

  sessionClosed(kind: GatewayTransportKind): void {
    this.active[kind] = Math.max(0, this.active[kind] - 1);
  }

  sessionRejected(): void {
    this.rejected++;
  }

  sessionRetired(): void {
    this.retired++;
  }

  upstreamConnectFailed(): void {
    this.connectFailures++;
  }

  recordToolCall(record: ToolCallRecord): void {
    let tool = record.tool;
    if (!this.tools.has(tool)) {
      if (this.tools.size < MAX_TOOL_LABELS) this.tools.add(tool);
      else tool = OTHER_TOOLS_LABEL;
    }
    const key = `${tool}\u0000${record.outcome}`;
    let count = this.calls.get(key);
    if (!count) {
      count = { tool, outcome: record.outcome, count: 0, durationMsSum: 0 };
      this.calls.set(key, count);
    }
    count.count++;
    count.durationMsSum += record.durationMs;
    for (const listener of this.listeners) listener({ ...record, tool });
  }

  /** Every tool call as it ends (e.g. to feed a latency histogram); returns an unsubscribe function. */
  onToolCall(listener: (record: ToolCallRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): GatewayStatsSnapshot {
    return {
      activeSessions: { ...this.active },
      sessionsOpened: { ...this.opened },
      sessionsRejected: this.rejected,
      sessionsRetired: this.retired,
      upstreamConnectFailures: this.connectFailures,
      toolCalls: [...this.calls.values()].map((count) => ({ ...count })),
    };
  }
}
