import { sql } from 'drizzle-orm';
import { signEvent } from '../../src/realtime/event-signature';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { createTestDatabase, TEST_JWT_SECRET } from '../helpers/test-app';
import { type EdgeUser, edgeClient, startEdgeWorker } from './edge-worker';
import { WsClient } from './ws-client';

export const EVENTS_SECRET = 'edge-events-secret-that-is-32-bytes-or-more';

/**
 * The edge Worker in workerd with its own database and the events secret, and what realtime
 * tests do with it: sockets (closed by `closeSockets`), admins, signed event batches.
 */
export async function startRealtimeEdge(bindings: Record<string, string>, options: { instrumented?: boolean } = {}) {
  const database = await createTestDatabase();
  const edge = await startEdgeWorker(
    { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: database.url, EDGE_EVENTS_SECRET: EVENTS_SECRET, ...bindings },
    undefined,
    options,
  );
  const client = edgeClient(edge.url);
  const sockets: WsClient[] = [];
  return {
    edge,
    database,
    client,

    /** A socket that answers the server's pings, as a well-behaved client does (unless told not to). */
    async connect(
      user: { accessToken: string },
      { answerPings = true, token = user.accessToken } = {},
    ): Promise<WsClient> {
      const socket = await WsClient.connect(edge.url, token);
      if (answerPings) {
        socket.ws.on('message', (data) => {
          if (JSON.parse(String(data)).event === 'ping') socket.send({ event: 'pong', channel: '' });
        });
      }
      sockets.push(socket);
      return socket;
    },

    closeSockets(): void {
      for (const socket of sockets.splice(0)) socket.close();
    },

    /** `user` (a new one if none) made admin in the database, with a token from a fresh login that carries the role. */
    async promotedAdmin(existing?: EdgeUser): Promise<EdgeUser> {
      const user = existing ?? (await client.register());
      await database.db.execute(sql`update users set role = 'admin' where id = ${user.user.id}`);
      const login = await client.call('POST', '/auth/login', {
        username: user.username,
        password: 'correct-horse-battery',
      });
      const { accessToken } = await readJson(login, bodies.session);
      return { ...user, accessToken, auth: { authorization: `Bearer ${accessToken}` } };
    },

    /** POST /internal/events, signed as a Node worker signs it. */
    async postEvents(messages: unknown[], signing: { secret?: string; nowMs?: number } = {}) {
      const body = JSON.stringify({ messages });
      const headers = await signEvent(signing.secret ?? EVENTS_SECRET, body, signing.nowMs);
      return fetch(`${edge.url}/internal/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    },

    async close(): Promise<void> {
      await edge.close();
      await database.close();
    },
  };
}

export type RealtimeEdge = Awaited<ReturnType<typeof startRealtimeEdge>>;
