import type { RunStatus, WorkflowRun } from '../../src/db/schema';
import type { CallToolRequest, CallToolResult, McpToolClient } from '../../src/mcp/tool-client';
import { completedCount, INITIAL_STEP_STATE, type RunStepState } from '../../src/runs/run-state';
import type { ClaimResult, ExecutorRunStore, RunEnd } from '../../src/runs/run-store';
import type { WorkflowStep } from '../../src/workflows/step-schema';

/** `store` with some of its methods replaced: a database that fails in one place, the rest real. */
export function withFaults(store: ExecutorRunStore, faults: Partial<ExecutorRunStore>): ExecutorRunStore {
  return {
    executorId: store.executorId,
    claim: (...args) => store.claim(...args),
    renewLease: (...args) => store.renewLease(...args),
    saveStep: (...args) => store.saveStep(...args),
    finish: (...args) => store.finish(...args),
    release: (...args) => store.release(...args),
    recordCancelled: (...args) => store.recordCancelled(...args),
    status: (...args) => store.status(...args),
    ...faults,
  };
}

type Write = 'saveStep' | 'finish' | 'release' | 'recordCancelled';

/**
 * RunStore's contract in memory, for unit tests of RunExecutor: the claim starts the first open
 * step as the SQL does, and every write after it is fenced by the lease (this executor holds it,
 * the run is still running). `writes` lists each write the executor asked for and whether the
 * fence let it through.
 */
export class InMemoryRunStore implements ExecutorRunStore {
  readonly rows = new Map<string, WorkflowRun>();
  readonly writes: Array<{ write: Write; runId: string; accepted: boolean }> = [];

  constructor(readonly executorId = 'unit-executor') {}

  /** A queued run of `steps`, as POST .../execute writes it. */
  insert(steps: WorkflowStep[], input: Record<string, unknown> = {}): WorkflowRun {
    const now = new Date('2026-01-01T00:00:00Z');
    const run: WorkflowRun = {
      id: crypto.randomUUID(),
      workflowId: crypto.randomUUID(),
      ownerId: crypto.randomUUID(),
      status: 'queued',
      input,
      steps: steps.map((step) => ({ ...step, ...INITIAL_STEP_STATE })),
      progress: 0,
      resultBytes: 0,
      error: null,
      attempts: 0,
      idempotencyKey: null,
      retryOf: null,
      lockedBy: null,
      lockExpiresAt: null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
    };
    this.rows.set(run.id, run);
    return structuredClone(run);
  }

  row(runId: string): WorkflowRun & { steps: RunStepState[] } {
    const row = this.rows.get(runId);
    if (!row) throw new Error(`no run ${runId}`);
    return row as WorkflowRun & { steps: RunStepState[] };
  }

  /** What POST .../cancel does to the row. */
  cancel(runId: string): void {
    const row = this.row(runId);
    if (row.status === 'queued' || row.status === 'running') {
      Object.assign(row, { status: 'cancelled', error: 'Cancelled by user', finishedAt: new Date() });
    }
  }

  /** Another executor took the run over (this one's lease ran out). */
  takeOver(runId: string): void {
    this.row(runId).lockedBy = 'another-executor';
  }

  async claim(runId: string, orOwnLease = false): Promise<ClaimResult> {
    const row = this.rows.get(runId);
    if (!row) return { kind: 'done' };
    const own = orOwnLease && row.status === 'running' && row.lockedBy === this.executorId;
    if (row.status === 'running' && !own) return { kind: 'leased', retryAfterMs: 1000 };
    if (row.status !== 'queued' && !own) return { kind: 'done', status: row.status };
    const now = new Date();
    Object.assign(row, { status: 'running', lockedBy: this.executorId, attempts: row.attempts + 1 });
    row.startedAt ??= now;
    const open = (row.steps as RunStepState[]).find((s) => s.status !== 'completed');
    if (open) {
      Object.assign(open, { status: 'running', attempts: open.attempts + 1 });
      open.startedAt ??= now.toISOString();
      delete open.error;
    }
    return { kind: 'claimed', run: structuredClone(row) };
  }

  async renewLease(runId: string): Promise<boolean> {
    return this.ours(runId) !== undefined;
  }

  async saveStep(runId: string, steps: RunStepState[], index: number): Promise<boolean> {
    const row = this.fenced('saveStep', runId);
    if (!row) return false;
    this.replaceStep(row, steps, index);
    return true;
  }

  async finish(run: Pick<WorkflowRun, 'id'>, outcome: RunEnd): Promise<boolean> {
    const row = this.fenced('finish', run.id);
    if (!row) return false;
    this.replaceStep(row, outcome.steps, outcome.index);
    Object.assign(row, {
      status: outcome.status,
      resultBytes: outcome.resultBytes,
      error: outcome.error ?? null,
      lockedBy: null,
      finishedAt: new Date(),
    });
    return true;
  }

  async release(runId: string, steps: RunStepState[]): Promise<boolean> {
    const row = this.fenced('release', runId);
    if (!row) return false;
    Object.assign(row, {
      status: 'queued',
      steps: structuredClone(steps),
      progress: completedCount(steps),
      lockedBy: null,
    });
    return true;
  }

  async recordCancelled(runId: string, steps: RunStepState[], resultBytes: number): Promise<void> {
    const row = this.rows.get(runId);
    const accepted = row?.status === 'cancelled' && row.lockedBy === this.executorId;
    this.writes.push({ write: 'recordCancelled', runId, accepted });
    if (!row || !accepted) return;
    Object.assign(row, { steps: structuredClone(steps), progress: completedCount(steps), resultBytes, lockedBy: null });
  }

  async status(runId: string): Promise<RunStatus | undefined> {
    return this.rows.get(runId)?.status;
  }

  private ours(runId: string): WorkflowRun | undefined {
    const row = this.rows.get(runId);
    return row?.status === 'running' && row.lockedBy === this.executorId ? row : undefined;
  }

  private fenced(write: Write, runId: string): WorkflowRun | undefined {
    const row = this.ours(runId);
    this.writes.push({ write, runId, accepted: row !== undefined });
    return row;
  }

  private replaceStep(row: WorkflowRun, steps: RunStepState[], index: number): void {
    const stored = row.steps as RunStepState[];
    stored[index] = structuredClone(steps[index] as RunStepState);
    row.progress = completedCount(stored);
  }
}

type ToolHandler = (request: CallToolRequest) => CallToolResult | Promise<CallToolResult>;

/** A tool's answer as JSON text, as the built-in tools give it. */
export const jsonResult = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
});

/** An MCP client whose tools are functions of the test; every call is recorded in order. */
export class FakeToolClient implements McpToolClient {
  readonly calls: CallToolRequest[] = [];

  constructor(private readonly tools: Record<string, ToolHandler>) {}

  async listTools() {
    return Object.keys(this.tools).map((name) => ({ name, inputSchema: { type: 'object' as const } }));
  }

  async callTool(request: CallToolRequest): Promise<CallToolResult> {
    this.calls.push(request);
    const tool = this.tools[request.name];
    if (!tool) return { isError: true, content: [{ type: 'text', text: `unknown tool ${request.name}` }] };
    return tool(request);
  }

  async close() {}

  /** The steps called, in order, by step id. */
  stepsCalled(): unknown[] {
    return this.calls.map((call) => call.meta?.stepId);
  }
}

/** Rejects with the signal's reason once it aborts: a tool call still running when the run is interrupted. */
export function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
