import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

// A reference for bench/mcp.mjs: the least any proxy in front of the MCP server can do. It
// forwards `/mcp` to MCP_URL (Streamable HTTP, keep-alive connections, bodies streamed through)
// and relays WebSocket messages to MCP_WS_URL, without authenticating, parsing JSON-RPC,
// enforcing limits or logging. Its latency over a direct call is the cost of the extra hop
// itself on this machine: the floor under the gateway's ratio.
const upstream = new URL(process.env.MCP_URL ?? '');
const upstreamWs = process.env.MCP_WS_URL ?? '';
const agent = new http.Agent({ keepAlive: true });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'authorization', 'upgrade']);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const server = http.createServer((req, res) => {
  if (req.url === '/health/live') {
    res.end('ok');
    return;
  }
  const forward = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: upstream.pathname,
      method: req.method,
      headers: forwardable(req.headers),
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(res);
    },
  );
  forward.on('error', () => res.destroy());
  req.pipe(forward);
});

const sockets = new WebSocketServer({
  server,
  path: '/mcp',
  handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
});
sockets.on('connection', (client) => {
  const relay = new WebSocket(upstreamWs, 'mcp');
  const early: string[] = [];
  client.on('message', (data) => {
    if (relay.readyState === WebSocket.OPEN) relay.send(data.toString());
    else early.push(data.toString());
  });
  relay.on('open', () => {
    for (const message of early.splice(0)) relay.send(message);
  });
  relay.on('message', (data) => client.send(data.toString()));
  relay.on('close', () => client.close());
  relay.on('error', () => client.close());
  client.on('close', () => relay.close());
});

server.listen(Number(process.env.BACKEND_PORT), '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
