import { signEvent } from '../realtime/event-signature';
import type { Logger } from '../logging/logger';
import { type ChannelHub, type ChannelMessage, WORKFLOW_CHANNEL } from '../realtime/channel-hub';

export interface EdgeEventForwarderOptions {
  /** The edge Worker's `/internal/events` URL (EDGE_EVENTS_URL). */
  url: string;
  /** EDGE_EVENTS_SECRET, the same value the Worker has. */
  secret: string;
  logger: Logger;
  /** Per POST. Default 5 s. */
  timeoutMs?: number;
  /** Events held while the edge is slow or down; the oldest are dropped beyond it. Default 1000. */
  maxPending?: number;
  /** Which messages cross to the edge. Default: the server-written `workflow` channel. */
  forwards?: (message: ChannelMessage) => boolean;
}

/** Messages per POST: a burst of step events goes out in one request. */
const MAX_BATCH = 100;

/**
 * A ChannelHub decorator for Node processes that run workflows while clients watch from the
 * edge: every message still goes to the wrapped hub (local /ws, Redis), and workflow-status
 * events are also POSTed, HMAC-signed, to the edge Worker, which hands them to the run owner's
 * connection shard and the `workflow` channel object (README "Realtime on Durable Objects").
 * Sending happens in the background, one request at a time, so a slow edge never slows a run
 * and events of a run arrive in order; delivery is best effort, like the hub's own.
 */
export class EdgeEventForwarder implements ChannelHub {
  private readonly pending: ChannelMessage[] = [];
  private sending: Promise<void> | undefined;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private dropped = 0;

  constructor(
    private readonly inner: ChannelHub,
    private readonly options: EdgeEventForwarderOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxPending = options.maxPending ?? 1000;
    if (inner.ready) this.ready = (channel) => inner.ready?.(channel) ?? Promise.resolve();
  }

  ready?: (channel: string) => Promise<void>;

  async publish(message: ChannelMessage): Promise<void> {
    if ((this.options.forwards ?? isWorkflowEvent)(message)) this.enqueue(message);
    await this.inner.publish(message);
  }

  subscribe(channel: string, listener: (message: ChannelMessage) => void): () => void {
    return this.inner.subscribe(channel, listener);
  }

  /** Resolves once everything queued so far was sent (or given up on). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.inner.close();
  }

  private enqueue(message: ChannelMessage): void {
    this.pending.push(message);
    if (this.pending.length > this.maxPending) {
      this.pending.shift();
      if (this.dropped++ % 100 === 0) {
        this.options.logger.warn({ dropped: this.dropped }, 'edge events: queue full, dropping the oldest');
      }
    }
    this.sending ??= this.drain().finally(() => {
      this.sending = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      await this.send(batch);
    }
  }

  private async send(messages: ChannelMessage[]): Promise<void> {
    const body = JSON.stringify({ messages });
    try {
      const headers = await signEvent(this.options.secret, body);
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) {
        this.options.logger.warn({ status: response.status, count: messages.length }, 'edge events: rejected');
      }
    } catch (error) {
      this.options.logger.warn(
        { err: { message: (error as Error)?.message ?? String(error) }, count: messages.length },
        'edge events: not delivered',
      );
    }
  }
}

function isWorkflowEvent(message: ChannelMessage): boolean {
  return message.channel === WORKFLOW_CHANNEL;
}

/** Wraps `hub` when EDGE_EVENTS_URL is configured; otherwise returns it unchanged. */
export function withEdgeEvents(
  hub: ChannelHub,
  config: { edgeEventsUrl?: string; edgeEventsSecret?: string },
  logger: Logger,
): ChannelHub {
  if (!config.edgeEventsUrl || !config.edgeEventsSecret) return hub;
  return new EdgeEventForwarder(hub, { url: config.edgeEventsUrl, secret: config.edgeEventsSecret, logger });
}
