import { type AddressInfo, createServer, type Socket, connect } from 'node:net';

export interface ByteCountingProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  /** Bytes the upstream (e.g. Postgres) sent to clients through the proxy so far. */
  readonly bytesFromUpstream: number;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of the server `url` names, counting what the server sends back:
 * a test can then tell how much a request really read from the database, whatever the driver does.
 */
export async function startByteCountingProxy(url: string): Promise<ByteCountingProxy> {
  const target = new URL(url);
  let bytesFromUpstream = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (chunk: Buffer) => {
      bytesFromUpstream += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.toString(),
    get bytesFromUpstream() {
      return bytesFromUpstream;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
