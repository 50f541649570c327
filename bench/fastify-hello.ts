import Fastify from 'fastify';

// The baseline for bench/http.ts: the cheapest useful Node HTTP server, run as its own
// process (like the API) so both compete with the load generator on equal terms.
const port = Number(process.env.BACKEND_PORT);
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ port, host: '127.0.0.1' });

const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
