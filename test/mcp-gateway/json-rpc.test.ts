import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { toJsonRpcMessage } from '../../src/mcp-gateway/json-rpc';

const related = 'io.modelcontextprotocol/related-task';

// Every case is decided by the SDK's schema too: the gateway's quick check must agree with it.
const cases: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
  { jsonrpc: '2.0', id: 'a', method: 'tools/list' },
  { jsonrpc: '2.0', id: 0, method: 'ping', params: {} },
  { jsonrpc: '2.0', id: 1.5, method: 'ping' },
  { jsonrpc: '2.0', id: 2 ** 53, method: 'ping' },
  { jsonrpc: '2.0', id: -3, method: 'ping' },
  { jsonrpc: '2.0', id: null, method: 'ping' },
  { jsonrpc: '2.0', id: true, method: 'ping' },
  { jsonrpc: '2.0', id: {}, method: 'ping' },
  { jsonrpc: '2.0', id: 1, method: 7 },
  { jsonrpc: '2.0', id: 1, method: 'ping', params: [] },
  { jsonrpc: '2.0', id: 1, method: 'ping', params: null },
  { jsonrpc: '2.0', id: 1, method: 'ping', params: 'x' },
  { jsonrpc: '2.0', id: 1, method: 'ping', extra: 1 },
  { jsonrpc: '2.0', id: 1, method: 'ping', result: {} },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 'p', userId: 'u' } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 3 } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 3.5 } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: null } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: {} } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: null } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: [] } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: 'm' } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { [related]: { taskId: 't' } } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { [related]: { taskId: 5 } } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { [related]: 't' } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { [related]: null } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
  { jsonrpc: '2.0', method: 'notifications/progress', params: { _meta: { progressToken: [] } } },
  { jsonrpc: '2.0', method: 'n', params: [1] },
  { jsonrpc: '2.0', method: 'n', extra: true },
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', id: 'r', result: { content: [{ type: 'text', text: 'x' }], isError: false } },
  { jsonrpc: '2.0', id: 1, result: { _meta: { progressToken: 'x' } } },
  { jsonrpc: '2.0', id: 1, result: { _meta: { progressToken: false } } },
  { jsonrpc: '2.0', id: 1, result: { _meta: 4 } },
  { jsonrpc: '2.0', id: 1, result: [] },
  { jsonrpc: '2.0', id: 1, result: null },
  { jsonrpc: '2.0', id: 1, result: 'ok' },
  { jsonrpc: '2.0', result: {} },
  { jsonrpc: '2.0', id: null, result: {} },
  { jsonrpc: '2.0', id: 1, result: {}, extra: 1 },
  { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } },
  { jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'bad' } },
  { jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'bad', data: { any: 'thing' } } },
  { jsonrpc: '2.0', error: { code: -32700, message: 'parse' } },
  { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse' } },
  { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'm' } },
  { jsonrpc: '2.0', id: 1, error: { code: '1', message: 'm' } },
  { jsonrpc: '2.0', id: 1, error: { code: 1 } },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 2 } },
  { jsonrpc: '2.0', id: 1, error: null },
  { jsonrpc: '2.0', id: 1, error: [] },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' }, extra: 1 },
  { jsonrpc: '2.0', id: 1 },
  { jsonrpc: '2.0' },
  { jsonrpc: '1.0', id: 1, method: 'ping' },
  { id: 1, method: 'ping' },
  [{ jsonrpc: '2.0', id: 1, method: 'ping' }],
  [],
  null,
  'text',
  42,
];

describe('toJsonRpcMessage', () => {
  it.each(cases.map((value) => [JSON.stringify(value), value]))('agrees with the SDK schema on %s', (_, value) => {
    const expected = JSONRPCMessageSchema.safeParse(value).success;
    expect(toJsonRpcMessage(value) !== undefined).toBe(expected);
  });

  it('returns the very message, not a copy', () => {
    const message = { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { userId: 'u' } } };
    expect(toJsonRpcMessage(message)).toBe(message);
  });
});
