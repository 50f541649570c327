import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { structuredResult } from '../tool-results';

export const MAX_SLEEP_MS = 60_000;

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function registerSleepTool(server: McpServer): RegisteredTool {
  return server.registerTool(
    'sleep',
    {
      title: 'Sleep',
      description: `Waits \`ms\` milliseconds (0-${MAX_SLEEP_MS}) and returns {sleptMs}. Stops early when the call is cancelled.`,
      inputSchema: { ms: z.number().int().min(0).max(MAX_SLEEP_MS) },
      outputSchema: { sleptMs: z.number().int() },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    // The SDK aborts `extra.signal` when the client sends notifications/cancelled (its
    // request timeout does) or the connection closes; nothing is answered after that.
    async ({ ms }, extra) => {
      await delay(ms, extra.signal);
      return structuredResult({ sleptMs: ms }, `Slept ${ms} ms`);
    },
  );
}
