import * as z from 'zod';
import { readJson } from '../helpers/read-json';

/**
 * MCP over Streamable HTTP by hand, for tests that look at what goes over the wire: event ids,
 * which stream a message comes on, in what order. Only fetch; nothing of the SDK's client.
 */

/** One JSON-RPC message, as the tests read it: any object. */
const jsonRpcMessage = z.record(z.string(), z.unknown());

export interface SseEvent {
  id?: string;
  data: string;
}

/** Reads a response's Server-Sent Events one at a time. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<string>;
  private buffer = '';

  constructor(response: Response) {
    if (!response.body) throw new Error('no body');
    this.reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event (comments skipped), or undefined when the stream ends. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event: SseEvent = { data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id:')) event.id = line.slice(3).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        event.data = data.join('\n');
        if (block.split('\n').every((line) => line.startsWith(':'))) continue;
        return event;
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.buffer += value;
    }
  }

  /** The next event that carries a message, parsed. */
  async nextMessage(): Promise<{ id?: string; message: Record<string, unknown> } | undefined> {
    for (;;) {
      const event = await this.next();
      if (!event) return undefined;
      if (event.data) return { id: event.id, message: JSON.parse(event.data) as Record<string, unknown> };
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

export const PROTOCOL_VERSION = '2025-11-25';

/** One client session held by hand. */
export class RawMcpSession {
  sessionId = '';

  constructor(
    readonly url: string,
    private readonly token: string,
    readonly protocolVersion = PROTOCOL_VERSION,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(this.sessionId ? { 'mcp-session-id': this.sessionId, 'mcp-protocol-version': this.protocolVersion } : {}),
      ...extra,
    };
  }

  post(message: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(this.url, { method: 'POST', headers: this.headers(), body: JSON.stringify(message), signal });
  }

  /** The GET stream (or a resumption of a stream with `lastEventId`). */
  get(lastEventId?: string, signal?: AbortSignal): Promise<Response> {
    const headers = this.headers({ accept: 'text/event-stream' });
    delete headers['content-type'];
    if (lastEventId) headers['last-event-id'] = lastEventId;
    return fetch(this.url, { method: 'GET', headers, signal });
  }

  /** initialize + notifications/initialized; `capabilities` are the client's. */
  async open(capabilities: Record<string, unknown> = {}): Promise<void> {
    const response = await this.post({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: this.protocolVersion, capabilities, clientInfo: { name: 'raw', version: '1' } },
    });
    if (response.status !== 200) throw new Error(`initialize: ${response.status} ${await response.text()}`);
    this.sessionId = response.headers.get('mcp-session-id') ?? '';
    await response.text();
    const initialized = await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (initialized.status !== 202) throw new Error(`initialized: ${initialized.status}`);
  }

  /** A tools/call; `progressToken` asks for progress. */
  callTool(
    id: number | string,
    name: string,
    args: Record<string, unknown>,
    progressToken?: string,
    signal?: AbortSignal,
  ) {
    return this.post(
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name, arguments: args, ...(progressToken ? { _meta: { progressToken } } : {}) },
      },
      signal,
    );
  }

  /** Every message of a POST's answer, in order (JSON: the one answer). */
  static async messagesOf(response: Response): Promise<Array<Record<string, unknown>>> {
    if (!response.headers.get('content-type')?.includes('text/event-stream')) {
      return [await readJson(response, jsonRpcMessage)];
    }
    const reader = new SseReader(response);
    const messages: Array<Record<string, unknown>> = [];
    for (let next = await reader.nextMessage(); next; next = await reader.nextMessage()) messages.push(next.message);
    return messages;
  }
}
