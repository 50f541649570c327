/**
 * A bare Streamable HTTP MCP server, run as its own process by websocket-backpressure.test.ts:
 * it answers `initialize` and `tools/call` (echoing `arguments.text`) with JSON, and `GET /calls`
 * with how many calls it took. The official SDK's schemas take a large share of a second per
 * 900 KB message, and a server inside the test process would compete with the test's client
 * for one event loop: either would make the test about something else than the gateway.
 * Prints `listening <port>` once it listens on 127.0.0.1.
 */
import { createServer } from 'node:http';

let calls = 0;
const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/calls') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ calls }));
    return;
  }
  if (request.method !== 'POST') {
    response.writeHead(405).end();
    return;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (message.id === undefined) {
      response.writeHead(202).end();
      return;
    }
    let result = {};
    if (message.method === 'initialize') {
      result = {
        protocolVersion: message.params?.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'bare-echo', version: '1' },
      };
    } else if (message.method === 'tools/call') {
      calls++;
      result = { content: [{ type: 'text', text: message.params?.arguments?.text ?? '' }] };
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
