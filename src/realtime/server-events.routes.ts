import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv } from '../deps';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { UnauthorizedError } from '../errors/unauthorized-error';
import { jsonObject, text } from '../http/storable-text';
import { malformedJson, parseWith } from '../http/validate';
import type { ChannelMessage } from './channel-hub';
import { SIGNATURE_HEADER, signatureProblem, TIMESTAMP_HEADER } from './event-signature';
import { CHANNEL_NAME, EVENT_NAME } from './protocol';

/** Where events published by the Node workers go when the runtime's sockets are not theirs (the edge). */
export interface ServerEvents {
  /** EDGE_EVENTS_SECRET: the HMAC key the workers sign each batch with. */
  secret: string;
  /** Publishes a verified batch; `batchId` (its signature) makes a replay inside the window a no-op. */
  publish(messages: ChannelMessage[], batchId: string): Promise<void>;
}

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
 * `POST /internal/events`: workflow-status events from Node workers, HMAC-signed with the shared
 * secret, published through `events`. Mounted only where the runtime has a secret (else 404).
 */
export function serverEventRoutes(events: ServerEvents) {
  return new Hono<AppEnv>().post('/', async (c) => {
    const body = await c.req.text();
    const signature = c.req.header(SIGNATURE_HEADER);
    const problem = await signatureProblem(events.secret, body, {
      timestamp: c.req.header(TIMESTAMP_HEADER),
      signature,
    });
    if (problem) throw new UnauthorizedError(`Event signature is ${problem}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw malformedJson();
    }
    const batch = parseWith('json', eventBatch, json);
    // The signature names the batch: a replay inside the window is delivered once.
    await events.publish(batch.messages, signature as string).catch((error: unknown) => {
      c.var.deps.logger.warn({ err: { message: String(error) } }, 'edge events not delivered');
      throw new ServiceUnavailableError('The events could not be delivered; retry later');
    });
    return c.json({ accepted: batch.messages.length }, 202);
  });
}
