import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through HTTP forwarder on 127.0.0.1 that adds `Authorization: Bearer <token>` to every
 * request: for clients that send none (the conformance suite), in front of `/mcp`. Bodies
 * stream both ways unchanged (SSE included); the Host header is the target's.
 */
export async function startAuthorizingForwarder(target: string, token: string) {
  const targetUrl = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const headers = { ...incoming.headers, host: targetUrl.host, authorization: `Bearer ${token}` };
    const upstream = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, path: incoming.url, method: incoming.method, headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    outgoing.on('close', () => upstream.destroy());
    incoming.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${targetUrl.pathname}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
