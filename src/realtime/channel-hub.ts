/** Every realtime message, both ways on /ws and across instances: `{event, channel, payload}`. */
export interface ChannelMessage {
  event: string;
  channel: string;
  payload: Record<string, unknown>;
}

export type ChannelListener = (message: ChannelMessage) => void;

/**
 * Delivers messages to the listeners of a channel. In one process it is a map of listeners
 * (InMemoryChannelHub); across processes an implementation fans out through Redis pub/sub
 * (Node) or a Durable Object (edge). Delivery is best effort and at most once per listener.
 */
export interface ChannelHub {
  publish(message: ChannelMessage): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(channel: string, listener: ChannelListener): () => void;
  /**
   * Resolves once messages published on any instance reach this hub's listeners of `channel`
   * (a cross-instance hub has to subscribe upstream first). Never rejects; hubs without an
   * upstream leave it out.
   */
  ready?(channel: string): Promise<void>;
  /**
   * Listeners of `channel` in this process, which a publish here reaches at once (what it costs
   * the publisher's budget). Hubs that deliver elsewhere leave it out.
   */
  listenerCount?(channel: string): number;
  close(): Promise<void>;
}

/** The server-only channel the executor reports run progress on. */
export const WORKFLOW_CHANNEL = 'workflow';
export const WORKFLOW_STATUS_EVENT = 'workflow-status';
