import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { McpRequestTimeoutError } from '../../src/mcp/errors';
import { inProcessConnector } from '../../src/mcp/in-process-connector';
import { createReconnectingMcpClient, type McpToolClient } from '../../src/mcp/tool-client';
import { createBuiltinMcpServer } from '../../src/mcp-server/create-builtin-mcp-server';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { NoteQuotaExceededError } from '../../src/mcp-server/note-store';
import { registerSleepTool } from '../../src/mcp-server/tools/sleep';

const fixedNow = new Date('2030-01-02T03:04:05.678Z');
const clients: McpToolClient[] = [];

function builtinClient(notes = new InMemoryNoteStore({ clock: () => fixedNow })) {
  const client = createReconnectingMcpClient(
    inProcessConnector(() => createBuiltinMcpServer({ notes, clock: () => fixedNow })),
  );
  clients.push(client);
  return client;
}

function text(result: { content?: unknown }): string {
  const [first] = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return first?.text ?? '';
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

describe('built-in MCP server', () => {
  it('lists its tools with input and output schemas', async () => {
    const tools = await builtinClient().listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'calculate',
      'echo',
      'fail',
      'get_time',
      'note_delete',
      'note_get',
      'note_list',
      'note_set',
      'sleep',
    ]);
    const calculate = tools.find((tool) => tool.name === 'calculate');
    expect(calculate?.inputSchema.required).toEqual(['op', 'a', 'b']);
    expect(calculate?.outputSchema?.properties).toHaveProperty('result');
  });

  it('echo returns the text and every other argument as structured content', async () => {
    const result = await builtinClient().callTool({ name: 'echo', arguments: { text: 'hello', data: { n: 1 } } });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('hello');
    expect(result.structuredContent).toEqual({ text: 'hello', data: { n: 1 } });
  });

  it('calculate computes, and reports division by zero and overflow as tool errors', async () => {
    const client = builtinClient();
    const product = await client.callTool({ name: 'calculate', arguments: { op: 'multiply', a: 6, b: 7 } });
    expect(product.structuredContent).toEqual({ result: 42 });
    const quotient = await client.callTool({ name: 'calculate', arguments: { op: 'divide', a: 1, b: 4 } });
    expect(quotient.structuredContent).toEqual({ result: 0.25 });

    const byZero = await client.callTool({ name: 'calculate', arguments: { op: 'divide', a: 1, b: 0 } });
    expect(byZero.isError).toBe(true);
    expect(text(byZero)).toMatch(/division by zero/i);
    const overflow = await client.callTool({ name: 'calculate', arguments: { op: 'multiply', a: 1e308, b: 10 } });
    expect(overflow.isError).toBe(true);
  });

  it('rejects invalid arguments with an isError result naming the problem', async () => {
    const result = await builtinClient().callTool({ name: 'calculate', arguments: { op: 'power', a: 1, b: 2 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/invalid arguments/i);
  });

  it('get_time reads the injected clock', async () => {
    const result = await builtinClient().callTool({ name: 'get_time' });
    expect(result.structuredContent).toEqual({ iso: fixedNow.toISOString(), epochMs: fixedNow.getTime() });
  });

  it('fail always returns isError with the message', async () => {
    const result = await builtinClient().callTool({ name: 'fail', arguments: { message: 'boom' } });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe('boom');
  });

  it('keeps notes per user (from _meta.userId), anonymous without one', async () => {
    const client = builtinClient();
    const asAlice = { userId: 'alice' };
    const asBob = { userId: 'bob' };
    const saved = await client.callTool({
      name: 'note_set',
      arguments: { key: 'k', value: 'alice-secret' },
      meta: asAlice,
    });
    expect(saved.structuredContent).toEqual({ key: 'k', updatedAt: fixedNow.toISOString() });

    const aliceRead = await client.callTool({ name: 'note_get', arguments: { key: 'k' }, meta: asAlice });
    expect(aliceRead.structuredContent).toMatchObject({ key: 'k', found: true, value: 'alice-secret' });
    const bobRead = await client.callTool({ name: 'note_get', arguments: { key: 'k' }, meta: asBob });
    expect(bobRead.structuredContent).toEqual({ key: 'k', found: false });
    const anonymousRead = await client.callTool({ name: 'note_get', arguments: { key: 'k' } });
    expect(anonymousRead.structuredContent).toEqual({ key: 'k', found: false });

    const bobDelete = await client.callTool({ name: 'note_delete', arguments: { key: 'k' }, meta: asBob });
    expect(bobDelete.structuredContent).toEqual({ key: 'k', deleted: false });
    const bobList = await client.callTool({ name: 'note_list', meta: asBob });
    expect(bobList.structuredContent).toEqual({ notes: [], count: 0 });

    await client.callTool({ name: 'note_set', arguments: { key: 'a', value: '1' }, meta: asAlice });
    const aliceList = await client.callTool({ name: 'note_list', meta: asAlice });
    expect(aliceList.structuredContent).toMatchObject({ count: 2, notes: [{ key: 'a' }, { key: 'k' }] });
    const aliceDelete = await client.callTool({ name: 'note_delete', arguments: { key: 'k' }, meta: asAlice });
    expect(aliceDelete.structuredContent).toEqual({ key: 'k', deleted: true });
  });

  it('enforces the key, value and count limits', async () => {
    const client = builtinClient(new InMemoryNoteStore({ maxNotesPerUser: 2 }));
    const longKey = await client.callTool({ name: 'note_set', arguments: { key: 'k'.repeat(129), value: 'v' } });
    expect(longKey.isError).toBe(true);
    // 6000 three-byte characters: under 16 KiB characters, over 16 KiB bytes.
    const bigValue = await client.callTool({ name: 'note_set', arguments: { key: 'k', value: '€'.repeat(6000) } });
    expect(bigValue.isError).toBe(true);
    expect(text(bigValue)).toMatch(/bytes/);
    const maxValue = await client.callTool({ name: 'note_set', arguments: { key: 'k', value: 'x'.repeat(16 * 1024) } });
    expect(maxValue.isError).toBeFalsy();

    await client.callTool({ name: 'note_set', arguments: { key: 'second', value: 'v' } });
    const third = await client.callTool({ name: 'note_set', arguments: { key: 'third', value: 'v' } });
    expect(third.isError).toBe(true);
    expect(text(third)).toMatch(/at most 2 notes/);
    const overwrite = await client.callTool({ name: 'note_set', arguments: { key: 'second', value: 'w' } });
    expect(overwrite.isError).toBeFalsy();
  });

  it('the in-memory store rejects a new key past the quota', async () => {
    const store = new InMemoryNoteStore({ maxNotesPerUser: 1 });
    await store.set('u', 'a', '1');
    await expect(store.set('u', 'b', '2')).rejects.toBeInstanceOf(NoteQuotaExceededError);
    await expect(store.set('other', 'b', '2')).resolves.toMatchObject({ key: 'b' });
  });

  it('sleep waits, and a client timeout cancels it on the server', async () => {
    const client = builtinClient();
    const slept = await client.callTool({ name: 'sleep', arguments: { ms: 20 } });
    expect(slept.structuredContent).toEqual({ sleptMs: 20 });

    // Watch the handler itself: the SDK never answers a cancelled request, so only the
    // handler can tell whether the wait really stopped.
    let outcome: string | undefined;
    const watched = createReconnectingMcpClient(
      inProcessConnector(() => {
        const server = new McpServer({ name: 'sleep-only', version: '1' });
        const sleepTool = registerSleepTool(server);
        const original = sleepTool.handler as (args: unknown, extra: unknown) => Promise<unknown>;
        sleepTool.handler = (async (args: unknown, extra: unknown) => {
          try {
            const result = await original(args, extra);
            outcome = 'completed';
            return result;
          } catch (error) {
            outcome = 'aborted';
            throw error;
          }
        }) as typeof sleepTool.handler;
        return server;
      }),
    );
    clients.push(watched);
    // A sleep that outlasts the test: the call can end only by the client's 50 ms deadline.
    await expect(watched.callTool({ name: 'sleep', arguments: { ms: 60_000 }, timeoutMs: 50 })).rejects.toBeInstanceOf(
      McpRequestTimeoutError,
    );
    await vi.waitFor(() => expect(outcome).toBe('aborted'), { timeout: 10_000 });
  });

  it('an aborted signal rejects the call with its reason', async () => {
    const controller = new AbortController();
    const call = builtinClient().callTool({ name: 'sleep', arguments: { ms: 5000 }, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('run cancelled')), 30);
    await expect(call).rejects.toThrow('run cancelled');
  });
});
