/**
 * The /ws protocol's own cost, without sockets: a publish parsed, checked (rate limit, ACL) and
 * fanned out to sessions whose sink only counts. bench/ws.mjs measures the whole server; this
 * isolates what src/realtime adds on top of `ws`.   npx tsx bench/ws-session.ts
 */
import { InMemoryChannelHub } from '../src/realtime/in-memory-channel-hub';
import { RealtimeGateway } from '../src/realtime/realtime-gateway';
import type { RealtimeSession } from '../src/realtime/session';

const gateway = new RealtimeGateway({
  hub: new InMemoryChannelHub(),
  limits: { messagesPerSecond: 1e9 },
  // One user holds every bench session.
  connections: { maxConnectionsPerUser: 1e9, maxConnections: 1e9 },
});
let delivered = 0;
const sink = {
  send: () => {
    delivered++;
  },
  close() {},
  bufferedAmount: () => 0,
};
const user = { id: 'bench-user', role: 'user' as const };
const text = 'x'.repeat(64);

for (const [subscribers, publishes] of [
  [10, 200_000],
  [1000, 5000],
] as const) {
  const channel = `bench-${subscribers}`;
  for (let i = 0; i < subscribers; i++) {
    gateway.connect(user, sink)?.receive(`{"event":"subscribe","channel":"${channel}","payload":{}}`);
  }
  const publisher = gateway.connect(user, sink) as RealtimeSession;
  delivered = 0;
  const started = performance.now();
  for (let seq = 0; seq < publishes; seq++) {
    publisher.receive(
      `{"event":"publish","channel":"${channel}","payload":{"t":${seq},"seq":${seq},"text":"${text}"}}`,
    );
  }
  const us = (performance.now() - started) * 1000;
  if (delivered !== subscribers * publishes) throw new Error(`delivered ${delivered}`);
  console.log(
    `${subscribers} subscribers: ${(us / publishes).toFixed(2)} µs per publish, ${(us / delivered).toFixed(3)} µs per delivery`,
  );
}
await gateway.shutdown(1001, 'done', 0);
