import type { Hono } from 'hono';
import * as z from 'zod';
import { tokenExpiry } from '../auth/token-expiry';
import type { AppEnv } from '../deps';
import { NotFoundError } from '../errors/not-found-error';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { UnauthorizedError } from '../errors/unauthorized-error';
import { UpgradeRequiredError } from '../errors/upgrade-required-error';
import { ValidationError } from '../errors/validation-error';
import { jsonObject, text } from '../http/storable-text';
import { authenticate, bearerToken } from '../middleware/auth';
import { CHANNEL_NAME, EVENT_NAME } from '../realtime/protocol';
import { connectToShard, publishFromServer } from './durable-object-channel-hub';
import type { EdgeEnv } from './edge-env';
import { SIGNATURE_HEADER, signatureProblem, TIMESTAMP_HEADER } from './event-signature';

const eventBatch = z.object({
  messages: z
    .array(
      z.object({
        event: text().regex(EVENT_NAME),
        channel: text().regex(CHANNEL_NAME),
        payload: jsonObject(),
      }),
    )
    .min(1)
    .max(100),
});

/**
 * The routes only the edge has, mounted on the app `createApp` built:
 * - `GET /ws`: the token is checked here (401 before any upgrade, as on Node), then the upgrade
 *   goes to the user's connection shard, which accepts the socket with the hibernation API.
 * - `POST /internal/events`: workflow-status events from Node workers, HMAC-signed with
 *   EDGE_EVENTS_SECRET (404 while no secret is set), published through the realtime objects.
 */
export function registerEdgeRoutes(
  app: Hono<AppEnv>,
  bindings: { env: EdgeEnv; shardCount: number; eventsSecret?: string },
): void {
  const { env, shardCount } = bindings;
  app.get('/ws', async (c) => {
    const token = bearerToken(c.req.header('authorization')) ?? c.req.query('token');
    const user = await authenticate(c, token);
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new UpgradeRequiredError();
    // The socket lives no longer than this token, as on Node (the shard closes it with 4401).
    const realtimeUser = { id: user.id, role: user.role, expiresAt: tokenExpiry(token) };
    const upgraded = await connectToShard(env, shardCount, c.req.raw, realtimeUser).catch((error: unknown) => {
      c.var.deps.logger.warn({ err: { message: String(error) } }, 'connection shard unreachable');
      throw new ServiceUnavailableError('Realtime is unavailable; retry later');
    });
    return upgraded as unknown as Response;
  });

  app.post('/internal/events', async (c) => {
    const secret = bindings.eventsSecret;
    if (!secret) throw new NotFoundError('Route not found');
    const body = await c.req.text();
    const signature = c.req.header(SIGNATURE_HEADER);
    const problem = await signatureProblem(secret, body, { timestamp: c.req.header(TIMESTAMP_HEADER), signature });
    if (problem) throw new UnauthorizedError(`Event signature is ${problem}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ValidationError('Body is not valid JSON');
    }
    const parsed = eventBatch.safeParse(json);
    if (!parsed.success) throw new ValidationError('Request validation failed', parsed.error.issues);
    // The signature names the batch: a replay inside the window is delivered once.
    await publishFromServer(env, shardCount, parsed.data.messages, signature).catch((error: unknown) => {
      c.var.deps.logger.warn({ err: { message: String(error) } }, 'edge events not delivered');
      throw new ServiceUnavailableError('The events could not be delivered; retry later');
    });
    return c.json({ accepted: parsed.data.messages.length }, 202);
  });
}
