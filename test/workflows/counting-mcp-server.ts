import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import * as z from 'zod';
import { createBuiltinMcpServer } from '../../src/mcp-server/create-builtin-mcp-server';
import { createBuiltinMcpHttpHandler } from '../../src/mcp-server/http-handler';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { structuredResult, toolErrorResult } from '../../src/mcp-server/tool-results';

export interface ToolCallRecord {
  tool: string;
  runId?: string;
  stepId?: string;
  attempt?: number;
  /** `flaky`'s key, when given: its failures are counted across runs. */
  key?: string;
  /** `hold` only: set once the call's signal aborted (the client cancelled or timed it out). */
  aborted?: boolean;
}

export interface CountingMcpServer {
  url: string;
  port: number;
  /** Every `count`/`flaky`/`hold` call, in order, with the `_meta` the executor sent. */
  calls: ToolCallRecord[];
  callsOf(runId: string, stepId: string): number;
  close(): Promise<void>;
}

/**
 * The built-in MCP server over real Streamable HTTP, plus test tools that record each call's
 * `_meta` (so a test can prove a checkpointed step never ran twice):
 * - `count {label?}` → `{n}` (the number of calls so far for this run and step);
 * - `flaky {failTimes, key?}` → isError for the first `failTimes` calls of a run's step (with `key`:
 *   of every call with that key, whatever the run), then `{ok: true}`;
 * - `hold` → never answers; records when the client gives the call up (cancellation or timeout),
 *   so a test waits for that event instead of timing how long the call took.
 */
export async function startCountingMcpServer(options: { port?: number } = {}): Promise<CountingMcpServer> {
  const calls: ToolCallRecord[] = [];
  const notes = new InMemoryNoteStore();
  const callsOf = (runId: string, stepId: string) =>
    calls.filter((c) => c.runId === runId && c.stepId === stepId).length;
  const record = (tool: string, meta: Record<string, unknown> | undefined) => {
    const entry: ToolCallRecord = {
      tool,
      runId: meta?.runId as string | undefined,
      stepId: meta?.stepId as string | undefined,
      attempt: meta?.attempt as number | undefined,
    };
    calls.push(entry);
    return entry;
  };
  const handler = createBuiltinMcpHttpHandler({
    createServer: () => {
      const server = createBuiltinMcpServer({ notes });
      server.registerTool(
        'count',
        { description: 'Counts its calls per run and step', inputSchema: { label: z.string().optional() } },
        (_args, extra) => {
          const entry = record('count', extra._meta);
          return structuredResult({ n: callsOf(entry.runId ?? '', entry.stepId ?? '') });
        },
      );
      server.registerTool(
        'flaky',
        {
          description: 'Fails the first failTimes calls of a step (of any run, with a key)',
          inputSchema: { failTimes: z.number().int(), key: z.string().optional() },
        },
        ({ failTimes, key }, extra) => {
          const entry = record('flaky', extra._meta);
          entry.key = key;
          const n =
            key === undefined
              ? callsOf(entry.runId ?? '', entry.stepId ?? '')
              : calls.filter((c) => c.tool === 'flaky' && c.key === key).length;
          return n <= failTimes ? toolErrorResult(`flaky failure ${n}`) : structuredResult({ ok: true, calls: n });
        },
      );
      server.registerTool('hold', { description: 'Answers only by being cancelled' }, (extra) => {
        const entry = record('hold', extra._meta);
        return new Promise<never>((_resolve, reject) => {
          extra.signal.addEventListener('abort', () => {
            entry.aborted = true;
            reject(extra.signal.reason);
          });
        });
      });
      return server;
    },
  });
  const server = createAdaptorServer({ fetch: (request: Request) => handler.handle(request) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    calls,
    callsOf,
    async close() {
      await handler.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}
