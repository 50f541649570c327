import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { NodeWebSocketClientTransport } from '../../src/node/node-websocket-client-transport';
import { eventually } from './gateway-server';

describe('NodeWebSocketClientTransport', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('speaks the mcp subprotocol, delivers JSON-RPC messages and reports anything else as an error', async () => {
    server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (p) => (p.has('mcp') ? 'mcp' : false),
    });
    await once(server, 'listening');
    const received: string[] = [];
    server.on('connection', (socket) => {
      socket.on('message', (data) => {
        received.push(data.toString());
        socket.send('not json');
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, result: {}, extra: true }));
        socket.send(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { ok: true } })));
      });
    });
    const transport = new NodeWebSocketClientTransport(
      new URL(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`),
    );
    const messages: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    transport.onmessage = (message) => messages.push(message);
    transport.onerror = (error) => errors.push(error);
    let closed = false;
    transport.onclose = () => {
      closed = true;
    };
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await eventually(() => messages.length === 1 && errors.length === 2);
    expect(received).toEqual(['{"jsonrpc":"2.0","id":1,"method":"ping"}']);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, result: { ok: true } }]);
    await transport.close();
    await eventually(() => closed);
    await expect(transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' })).rejects.toThrow(
      'Not connected',
    );
  });

  it('fails to start when nothing listens', async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const transport = new NodeWebSocketClientTransport(new URL(`ws://127.0.0.1:${port}/`));
    transport.onerror = () => {};
    await expect(transport.start()).rejects.toThrow();
  });
});
