import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { structuredResult, toolErrorResult } from '../tool-results';

const operations = {
  add: (a: number, b: number) => a + b,
  subtract: (a: number, b: number) => a - b,
  multiply: (a: number, b: number) => a * b,
  divide: (a: number, b: number) => a / b,
} as const;

type Operation = keyof typeof operations;

export function registerCalculateTool(server: McpServer): void {
  server.registerTool(
    'calculate',
    {
      title: 'Calculate',
      description: 'Applies `op` (add, subtract, multiply, divide) to `a` and `b`; returns {result}.',
      inputSchema: {
        op: z.enum(Object.keys(operations) as [Operation, ...Operation[]]),
        a: z.number(),
        b: z.number(),
      },
      outputSchema: { result: z.number() },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ op, a, b }) => {
      if (op === 'divide' && b === 0) return toolErrorResult('Division by zero: `b` must not be 0');
      const result = operations[op](a, b);
      // JSON has no Infinity/NaN; they would silently arrive as null.
      if (!Number.isFinite(result)) return toolErrorResult(`The result of ${op}(${a}, ${b}) is not a finite number`);
      return structuredResult({ result }, String(result));
    },
  );
}
