// Baseline for bench/ws.mjs: the smallest honest broadcast server on plain `ws` — same wire
// format, JSON parsed once and serialised once per publish, no auth, no limits, no ACL.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
const channels = new Map();

wss.on('connection', (ws) => {
  const mine = new Set();
  ws.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return;
    }
    const { event, channel, payload = {} } = message;
    if (event === 'subscribe') {
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(ws);
      mine.add(channel);
      ws.send(JSON.stringify({ event: 'subscribed', channel, payload: {} }));
      return;
    }
    const text = JSON.stringify({ event, channel, payload });
    for (const client of channels.get(channel) ?? []) client.send(text);
  });
  ws.on('close', () => {
    for (const channel of mine) channels.get(channel)?.delete(ws);
  });
});

wss.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ listening: wss.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
