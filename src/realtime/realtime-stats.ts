/** Counters the metrics exporter reads (`RealtimeGateway.stats`); plain numbers, no library. */
export interface RealtimeStats {
  /** Sockets open right now. */
  connections: number;
  connectionsTotal: number;
  messagesIn: number;
  messagesOut: number;
  errorsSent: number;
  rateLimited: number;
  pingTimeouts: number;
  slowConsumersDropped: number;
}

export function emptyRealtimeStats(): RealtimeStats {
  return {
    connections: 0,
    connectionsTotal: 0,
    messagesIn: 0,
    messagesOut: 0,
    errorsSent: 0,
    rateLimited: 0,
    pingTimeouts: 0,
    slowConsumersDropped: 0,
  };
}
