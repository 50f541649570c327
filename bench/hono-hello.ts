import { serve } from '@hono/node-server';
import { Hono } from 'hono';

// A reference for bench/http.ts: Hono on @hono/node-server with nothing but one route, i.e. the
// floor our API's stack stands on. It shows how much of the gap to Fastify is the framework
// adapter and how much is our own middleware.
const app = new Hono();
app.get('/', (c) => c.json({ hello: 'world' }));
const server = serve({ fetch: app.fetch, port: Number(process.env.BACKEND_PORT), hostname: '127.0.0.1' });

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
