import type { Clock } from '../clock';
import type { RunStatus, WorkflowRun } from '../db/schema';
import type { Logger } from '../logging/logger';
import { McpRequestTimeoutError, McpUnavailableError } from '../mcp/errors';
import type { CallToolResult, McpToolClient } from '../mcp/tool-client';
import type { Metrics } from '../observability/metrics';
import type { ChannelHub } from '../realtime/channel-hub';
import { abortableDelay } from './abortable-delay';
import { type JsonSizeMemo, jsonByteLength } from './json-size';
import type { RunStepState } from './run-state';
import { publishRunStatus, type RunStatusChange } from './run-status-event';
import { type ClaimStart, type ExecutorRunStore, fromClaim } from './run-store';
import { resolveTemplates, stepOutput, TemplateError } from './templating';

export interface RunExecutorOptions {
  /** The run rows and their lease-guarded writes; it names this executor (`locked_by`) and holds the lease length. */
  store: ExecutorRunStore;
  mcp: McpToolClient;
  hub: ChannelHub;
  clock: Clock;
  logger: Logger;
  /** Lease renewal and cancellation check while a step runs. Default 1 s. */
  heartbeatMs?: number;
  /** Step timeout when the step sets none. Default 30 s. */
  defaultStepTimeoutMs?: number;
  /** First retry delay; doubles per attempt (with jitter) up to retryMaxMs. Default 500 ms / 30 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** An unreachable MCP server is retried at least this many times, whatever the step's `retries`. Default 3. */
  unavailableRetries?: number;
  /**
   * Bytes one run may produce: step results plus resolved (templated) arguments, counted as each
   * is made; the step that would go past it fails. Default 4 MiB.
   */
  resultBudgetBytes?: number;
  /** Where finished runs are counted (workflow_runs_total, workflow_run_duration_seconds). */
  metrics?: Metrics;
}

export type RunOutcome =
  | { outcome: 'completed' | 'cancelled' }
  /** The step that failed for good, and the run's error. */
  | { outcome: 'failed'; failedStep: string; error: string }
  /** Someone else holds the run's lease: try again later. */
  | { outcome: 'leased'; retryAfterMs: number }
  /** Given back because the host is shutting down: run it again elsewhere. */
  | { outcome: 'released' }
  /** Deleted, finished (`status` says how, when the row was there to read), or taken over: nothing left to do here. */
  | { outcome: 'gone'; status?: RunStatus };

/** Why a run stopped before its end (the abort reason of the run's own signal). */
class RunInterrupted extends Error {
  constructor(readonly why: 'cancelled' | 'lost' | 'shutdown') {
    super(`run interrupted: ${why}`);
  }
}

const MAX_ERROR_LENGTH = 2000;
const MAX_RESULT_BYTES = 1024 * 1024;

function truncate(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

function toolErrorText(result: CallToolResult): string {
  const text = (result.content ?? [])
    .map((c) => (c.type === 'text' ? c.text : `[${c.type}]`))
    .join('\n')
    .trim();
  return text || 'the tool reported an error without a message';
}

/** `final`: trying again cannot help (the run's result budget is spent). */
type Failure = { message: string; unavailable: boolean; final?: boolean };

/** One run being executed here. */
interface Execution {
  run: WorkflowRun;
  /** The run's steps as this executor has them (written back at each checkpoint). */
  steps: RunStepState[];
  signal: AbortSignal;
  /** The start of a step the claim already wrote, until that step's tool is called (see fromClaim). */
  claimStart: ClaimStart | undefined;
  /** Bytes of the run's result budget spent: stored results and resolved arguments. */
  spentBytes: number;
  /** Bytes of the step results the row holds. */
  storedBytes: number;
  /** Sizes of results already measured: arguments that name them cost a lookup. */
  sizes: JsonSizeMemo;
}

/**
 * Runs a workflow run: claims its `workflow_queue` row, runs the remaining steps in order
 * as MCP `tools/call`, checkpoints every step in the row, and publishes `workflow-status`
 * events. Portable (Web APIs only): the BullMQ worker and the in-process runner both use it.
 *
 * Delivery is at least once: a step in flight when its executor dies runs again on the
 * next one (each call carries `_meta.runId`/`stepId` for tools that de-duplicate); a
 * completed step is a checkpoint and never runs again.
 */
export class RunExecutor {
  /** Runs executing in this process right now. */
  private readonly active = new Set<string>();
  private readonly store: ExecutorRunStore;
  private readonly heartbeatMs: number;
  private readonly defaultStepTimeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly unavailableRetries: number;
  private readonly resultBudgetBytes: number;

  constructor(private readonly options: RunExecutorOptions) {
    this.store = options.store;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.defaultStepTimeoutMs = options.defaultStepTimeoutMs ?? 30_000;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.unavailableRetries = options.unavailableRetries ?? 3;
    this.resultBudgetBytes = options.resultBudgetBytes ?? 4 * 1024 * 1024;
  }

  /** The lease holder's name in `workflow_queue.locked_by` (the BullMQ worker is named after it). */
  get executorId(): string {
    return this.store.executorId;
  }

  /** Claims the run by id, then runs it. `signal` aborts it for shutdown: the run is released, not failed. */
  async execute(runId: string, signal?: AbortSignal): Promise<RunOutcome> {
    // A run this executor holds but is not running (it failed on a database error and BullMQ
    // retried the job) may be taken again at once instead of after its lease runs out.
    const claim = await this.store.claim(runId, !this.active.has(runId));
    if (claim.kind === 'leased') return { outcome: 'leased', retryAfterMs: claim.retryAfterMs };
    if (claim.kind === 'done') return { outcome: 'gone', status: claim.status };
    return this.executeClaimed(claim.run, signal);
  }

  /**
   * Runs a row this executor has already claimed. The claim started the first step that is not
   * completed (RunStore): its attempt is recorded, the call not made yet; until the call the
   * executor holds that step as it was (fromClaim), so a run that stops first writes no attempt.
   */
  async executeClaimed(run: WorkflowRun, signal?: AbortSignal): Promise<RunOutcome> {
    const { steps, claimStart } = fromClaim(run);
    this.active.add(run.id);
    const control = new AbortController();
    const onShutdown = () => control.abort(new RunInterrupted('shutdown'));
    if (signal?.aborted) onShutdown();
    signal?.addEventListener('abort', onShutdown, { once: true });
    const heartbeat = setInterval(() => {
      // Any failure here (renewal or the status read after a lost lease) is logged: a rejection
      // left unhandled in a timer would take the whole process down.
      this.keepLease(run.id, control).catch((err: unknown) =>
        this.options.logger.warn({ runId: run.id, err: String(err) }, 'lease renewal failed'),
      );
    }, this.heartbeatMs);
    // A resumed run starts from the results it stored; arguments resolved before the restart are not counted again.
    let storedBytes = 0;
    const sizes: JsonSizeMemo = new WeakMap();
    for (const step of steps) {
      if (step.status === 'completed')
        storedBytes += jsonByteLength(step.result ?? null, Number.POSITIVE_INFINITY, sizes);
    }
    const execution: Execution = {
      run,
      steps,
      signal: control.signal,
      claimStart,
      spentBytes: storedBytes,
      storedBytes,
      sizes,
    };
    // The claim counted this take: the first one ends the run's time in the queue.
    if (run.attempts === 1 && run.startedAt) {
      this.options.metrics?.observeQueueWait(Math.max(0, (run.startedAt.getTime() - run.createdAt.getTime()) / 1000));
    }
    try {
      return this.recordEnd(run, await this.runSteps(execution));
    } catch (error) {
      if (!(error instanceof RunInterrupted)) throw error;
      return this.recordEnd(run, await this.interrupted(execution, error.why));
    } finally {
      clearInterval(heartbeat);
      signal?.removeEventListener('abort', onShutdown);
      this.active.delete(run.id);
    }
  }

  /** Renews the lease; when another executor has it, or the run was cancelled, interrupts this one. */
  private async keepLease(runId: string, control: AbortController): Promise<void> {
    const ours = await this.store.renewLease(runId);
    if (ours || control.signal.aborted) return;
    const status = await this.store.status(runId);
    control.abort(new RunInterrupted(status === 'cancelled' ? 'cancelled' : 'lost'));
  }

  private async runSteps(execution: Execution): Promise<RunOutcome> {
    const { run, steps } = execution;
    // Keyed by step ids, which are the workflow author's: no prototype, so `__proto__` is just an id.
    const outputs: Record<string, unknown> = Object.create(null);
    for (const step of steps) if (step.status === 'completed') outputs[step.id] = step.result;
    // No separate "run started" event: the first step's `running` event says it (one publish less per run).
    let lastStepRanHere = false;

    for (const [index, step] of steps.entries()) {
      if (step.status === 'completed') continue;
      const failure = await this.runStep(execution, index, outputs);
      if (failure) {
        const how =
          step.attempts === 0
            ? 'could not start' // its arguments could not be resolved; the tool was never called
            : `failed after ${step.attempts} attempt${step.attempts === 1 ? '' : 's'}`;
        const error = `Step "${step.id}" (${step.tool}) ${how}: ${failure}`;
        const done = await this.store.finish(run, {
          status: 'failed',
          steps,
          index,
          resultBytes: execution.storedBytes,
          error,
        });
        if (!done) return this.afterLostWrite(execution);
        // The step's own end, then the run's (which names the step it failed on).
        this.publish(run, steps, {
          status: 'running',
          stepIndex: index,
          stepId: step.id,
          stepStatus: 'failed',
          error: failure,
        });
        this.publish(run, steps, { status: 'failed', stepIndex: index, stepId: step.id, error });
        return { outcome: 'failed', failedStep: step.id, error };
      }
      outputs[step.id] = step.result;
      // The last checkpoint is written together with the run's end, and published after it.
      if (index === steps.length - 1) {
        lastStepRanHere = true;
        break;
      }
      if (!(await this.store.saveStep(run.id, steps, index))) return this.afterLostWrite(execution);
      this.publish(run, steps, { status: 'running', stepIndex: index, stepId: step.id, stepStatus: 'completed' });
    }
    const done = await this.store.finish(run, {
      status: 'completed',
      steps,
      index: steps.length - 1,
      resultBytes: execution.storedBytes,
    });
    if (!done) return this.afterLostWrite(execution);
    if (lastStepRanHere) {
      const lastIndex = steps.length - 1;
      const stepId = (steps[lastIndex] as RunStepState).id;
      this.publish(run, steps, { status: 'running', stepIndex: lastIndex, stepId, stepStatus: 'completed' });
    }
    this.publish(run, steps, { status: 'completed', stepIndex: steps.length });
    return { outcome: 'completed' };
  }

  /** Runs one step with its retries; resolves with an error message when it failed for good. */
  private async runStep(
    execution: Execution,
    index: number,
    outputs: Record<string, unknown>,
  ): Promise<string | undefined> {
    const { run, steps, signal } = execution;
    const step = steps[index] as RunStepState;
    let args: Record<string, unknown>;
    try {
      args = resolveTemplates(step.arguments ?? {}, { input: run.input, steps: outputs }) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      return this.failBeforeCall(step, error.message);
    }
    // Measured, not serialised: arguments naming a large result many times share it by reference.
    const argumentBytes = jsonByteLength(args, this.resultBudgetBytes - execution.spentBytes, execution.sizes);
    if (execution.spentBytes + argumentBytes > this.resultBudgetBytes) {
      return this.failBeforeCall(step, `its arguments would take the run past ${this.budgetText()}`);
    }
    execution.spentBytes += argumentBytes;
    const timeoutMs = step.timeoutMs ?? this.defaultStepTimeoutMs;
    for (let tries = 1; ; tries++) {
      signal.throwIfAborted();
      if (execution.claimStart?.index === index) {
        // The claim wrote this start already.
        Object.assign(step, execution.claimStart.step);
        execution.claimStart = undefined;
      } else {
        step.status = 'running';
        step.attempts += 1;
        step.startedAt ??= this.now();
        delete step.error;
        // Recorded before the call: a crash mid-call leaves a visible attempt behind.
        if (!(await this.store.saveStep(run.id, steps, index))) throw new RunInterrupted(await this.lostWhy(run.id));
      }
      this.publish(run, steps, { status: 'running', stepIndex: index, stepId: step.id, stepStatus: 'running' });

      const started = performance.now();
      const failure = await this.callOnce(execution, step, args, timeoutMs);
      step.durationMs = Math.round(performance.now() - started);
      if (!failure) {
        step.status = 'completed';
        step.finishedAt = this.now();
        return undefined;
      }
      step.error = failure.message;
      const allowed = 1 + Math.max(step.retries ?? 0, failure.unavailable ? this.unavailableRetries : 0);
      if (failure.final || tries >= allowed) {
        step.status = 'failed';
        step.finishedAt = this.now();
        return failure.message;
      }
      const delayMs = this.backoffMs(tries);
      this.options.logger.info(
        { runId: run.id, stepId: step.id, attempt: step.attempts, delayMs, error: failure.message },
        'step failed, retrying',
      );
      step.status = 'pending';
      await abortableDelay(delayMs, signal);
    }
  }

  private async callOnce(
    execution: Execution,
    step: RunStepState,
    args: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<Failure | undefined> {
    const { run, signal } = execution;
    try {
      const result = await this.options.mcp.callTool({
        name: step.tool,
        arguments: args,
        meta: {
          runId: run.id,
          stepId: step.id,
          workflowId: run.workflowId,
          userId: run.ownerId,
          attempt: step.attempts,
        },
        timeoutMs,
        signal,
      });
      if (result.isError) return { message: truncate(toolErrorText(result)), unavailable: false };
      const output = stepOutput(result) ?? null;
      const left = this.resultBudgetBytes - execution.spentBytes;
      const bytes = jsonByteLength(output, Math.min(MAX_RESULT_BYTES, left), execution.sizes);
      if (bytes > MAX_RESULT_BYTES) {
        return { message: `the result is larger than ${MAX_RESULT_BYTES} bytes`, unavailable: false };
      }
      if (bytes > left) {
        return { message: `its result would take the run past ${this.budgetText()}`, unavailable: false, final: true };
      }
      step.result = output;
      execution.spentBytes += bytes;
      execution.storedBytes += bytes;
      return undefined;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof McpRequestTimeoutError)
        return { message: `timed out after ${timeoutMs} ms`, unavailable: false };
      if (error instanceof McpUnavailableError) {
        return { message: truncate(`MCP server unavailable: ${error.message}`), unavailable: true };
      }
      return { message: truncate(error instanceof Error ? error.message : String(error)), unavailable: false };
    }
  }

  private backoffMs(tries: number): number {
    const exp = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (tries - 1));
    // ±20 % jitter, so runs that failed together do not retry in lockstep.
    return Math.round(exp * (0.8 + Math.random() * 0.4));
  }

  private async lostWhy(runId: string): Promise<'cancelled' | 'lost'> {
    return (await this.store.status(runId)) === 'cancelled' ? 'cancelled' : 'lost';
  }

  private async afterLostWrite(execution: Execution): Promise<RunOutcome> {
    return this.interrupted(execution, await this.lostWhy(execution.run.id));
  }

  /** The step fails without its tool being called (a template without a value, the budget spent). */
  private failBeforeCall(step: RunStepState, message: string): string {
    Object.assign(step, { status: 'failed', error: message, finishedAt: this.now() });
    return message;
  }

  private budgetText(): string {
    return `its result budget of ${this.resultBudgetBytes} bytes (RUN_RESULT_BUDGET_BYTES)`;
  }

  private async interrupted(execution: Execution, why: 'cancelled' | 'lost' | 'shutdown'): Promise<RunOutcome> {
    const { run, steps } = execution;
    const inFlight = steps.find((s) => s.status === 'running');
    // The host aborts for shutdown or for a cancel it saw first: the row says which.
    if (why === 'shutdown' && (await this.store.status(run.id)) === 'cancelled') why = 'cancelled';
    if (why === 'cancelled') {
      if (inFlight) Object.assign(inFlight, { status: 'cancelled', finishedAt: this.now() });
      for (const s of steps) if (s.status === 'pending' && s.attempts > 0) s.status = 'cancelled';
      await this.store.recordCancelled(run.id, steps, execution.storedBytes);
      // The run's own `cancelled` event came from whoever cancelled it; this is the step's end.
      if (inFlight) {
        const stepIndex = steps.indexOf(inFlight);
        this.publish(run, steps, { status: 'cancelled', stepIndex, stepId: inFlight.id, stepStatus: 'cancelled' });
      }
      return { outcome: 'cancelled' };
    }
    if (why === 'shutdown') {
      // The interrupted call may or may not have run: at-least-once, it runs again on resume.
      if (inFlight) inFlight.status = 'pending';
      await this.store.release(run.id, steps);
      this.options.logger.info({ runId: run.id }, 'run released for another executor');
      return { outcome: 'released' };
    }
    this.options.logger.warn({ runId: run.id }, 'run lost: deleted or taken over by another executor');
    return { outcome: 'gone' };
  }

  /**
   * Metrics and one info line for a run that ended here (a lease lost, a release or a vanished
   * row is not an end): what an operator looks for first when a run went wrong.
   */
  private recordEnd(run: WorkflowRun, result: RunOutcome): RunOutcome {
    if (result.outcome === 'completed' || result.outcome === 'failed' || result.outcome === 'cancelled') {
      const startedMs = (run.startedAt ?? run.createdAt).getTime();
      const seconds = Math.max(0, (this.options.clock().getTime() - startedMs) / 1000);
      this.options.metrics?.observeRun({ outcome: result.outcome, seconds });
      const failure = result.outcome === 'failed' ? { failedStep: result.failedStep, error: result.error } : {};
      this.options.logger.info(
        {
          runId: run.id,
          workflowId: run.workflowId,
          status: result.outcome,
          durationMs: Math.round(seconds * 1000),
          attempts: run.attempts,
          ...failure,
        },
        'run finished',
      );
    }
    return result;
  }

  private now(): string {
    return this.options.clock().toISOString();
  }

  private publish(run: WorkflowRun, steps: RunStepState[], change: RunStatusChange): void {
    void publishRunStatus(this.options.hub, this.options.logger, run, steps.length, change);
  }
}
