import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { readIncomingBody } from '../../src/node/read-incoming-body';

describe('readIncomingBody', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** A server answering with what `readIncomingBody` made of the request: the body, or "(left)" when it left it alone. */
  async function serve(before?: (incoming: http.IncomingMessage) => void | Promise<void>): Promise<string> {
    server = http.createServer(async (incoming, outgoing) => {
      await before?.(incoming);
      const read = readIncomingBody({ incoming, outgoing });
      outgoing.end(read ? await read : '(left)');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('reads a body, however it is split, as UTF-8', async () => {
    const url = await serve();
    const small = await fetch(url, { method: 'POST', body: '{"text":"héllo"}' });
    expect(await small.text()).toBe('{"text":"héllo"}');
    const large = 'x'.repeat(300_000);
    expect(await (await fetch(url, { method: 'POST', body: large })).text()).toBe(large);
  });

  it('takes a body that has arrived in full at once', async () => {
    let complete = false;
    const url = await serve(async (incoming) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      complete = incoming.complete;
    });
    expect(await (await fetch(url, { method: 'POST', body: '{"whole":true}' })).text()).toBe('{"whole":true}');
    expect(complete).toBe(true);
  });

  it('takes a body whose announced bytes are all buffered before the message is reported complete', async () => {
    // The state a small POST is in when the handler first looks: its bytes pushed, 'end' still to come.
    const incoming = Object.assign(new Readable({ read() {} }), {
      headers: { 'content-length': String(Buffer.byteLength('{"é":1}')) },
      complete: false,
    });
    incoming.push(Buffer.from('{"é":1}'));
    expect(await readIncomingBody({ incoming })).toBe('{"é":1}');

    // Fewer bytes than announced: it waits for the rest.
    const partial = Object.assign(new Readable({ read() {} }), { headers: { 'content-length': '6' }, complete: false });
    partial.push(Buffer.from('{"a":'));
    const read = readIncomingBody({ incoming: partial });
    let settled = false;
    void read?.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    partial.push(Buffer.from('1'));
    partial.push(null);
    expect(await read).toBe('{"a":1');
  });

  it('leaves a body that something else has started to read', async () => {
    const url = await serve((incoming) => {
      // What @hono/node-server's Web Request does once its body stream is pulled.
      Readable.toWeb(incoming).getReader();
    });
    expect(await (await fetch(url, { method: 'POST', body: 'taken' })).text()).toBe('(left)');
  });

  it('has nothing to read without a Node request', () => {
    expect(readIncomingBody(undefined)).toBeUndefined();
    expect(readIncomingBody({})).toBeUndefined();
  });
});
