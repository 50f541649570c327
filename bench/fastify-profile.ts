import Fastify from 'fastify';
import { jwtVerify } from 'jose';
import postgres from 'postgres';

// A reference for bench/http.ts: the same work as the API's GET /profile — a bearer JWT verified
// with jose (HS256, issuer and audience pinned; a verified token remembered, as the API does)
// and one indexed query with postgres.js — written by hand on Fastify, with no middleware at all.
// It shows what that work costs on this machine before any framework or middleware of ours.
const port = Number(process.env.BACKEND_PORT);
const sql = postgres(process.env.DATABASE_URL as string, { max: 10, onnotice: () => {} });
const key = new TextEncoder().encode(process.env.JWT_SECRET);
const options = { algorithms: ['HS256'], issuer: process.env.JWT_ISSUER, audience: process.env.JWT_AUDIENCE };
const verified = new Map<string, { sub: string; exp: number }>();

async function userIdOf(authorization: string | undefined): Promise<string | undefined> {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) return undefined;
  const now = Math.floor(Date.now() / 1000);
  const hit = verified.get(token);
  if (hit) return hit.exp > now ? hit.sub : undefined;
  const { payload } = await jwtVerify(token, key, options).catch(() => ({ payload: undefined }));
  if (!payload?.sub || !payload.exp) return undefined;
  verified.set(token, { sub: payload.sub, exp: payload.exp });
  return payload.sub;
}

const app = Fastify({ logger: false });
app.get('/profile', async (request, reply) => {
  const id = await userIdOf(request.headers.authorization);
  if (!id) return reply.code(401).send({ error: { code: 'unauthorized' } });
  const [user] = await sql`
    select id, username, email, role, created_at, updated_at from users where id = ${id} limit 1`;
  if (!user) return reply.code(404).send({ error: { code: 'not_found' } });
  return {
    user: {
      id: user.id,
      username: user.username,
      email: user.email,
      role: user.role,
      createdAt: user.created_at.toISOString(),
      updatedAt: user.updated_at.toISOString(),
    },
  };
});
await app.listen({ port, host: '127.0.0.1' });

const stop = () => void Promise.all([app.close(), sql.end({ timeout: 2 })]).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
