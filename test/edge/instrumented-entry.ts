/**
 * A test-only entry module around the deployable bundle (`worker.js`): the same Worker and
 * Durable Objects, with what a test needs to look inside them and nothing the bundle itself
 * carries. `POST /__test/restart-channel?channel=…` resets a channel's object as a crash or a
 * deploy would (its memory is gone, its storage stays); `POST /__test/shard-calls` answers, per
 * connection shard, how many deliveries it received since the last time it was asked.
 */
export const INSTRUMENTED_ENTRY = `
import worker, { ChannelObject as DeployedChannelObject, ConnectionShard as DeployedConnectionShard } from './worker.js';

export class ChannelObject extends DeployedChannelObject {
  async restartForTest() {
    this.ctx.abort('restarted by the test');
  }
}

export class ConnectionShard extends DeployedConnectionShard {
  deliveriesForTest = 0;
  async deliver(messages) {
    this.deliveriesForTest++;
    return super.deliver(messages);
  }
  async deliverToOwners(messages, eventId) {
    this.deliveriesForTest++;
    return super.deliverToOwners(messages, eventId);
  }
  async takeDeliveriesForTest() {
    const count = this.deliveriesForTest;
    this.deliveriesForTest = 0;
    return count;
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/__test/restart-channel') {
      const stub = env.REALTIME_CHANNELS.get(env.REALTIME_CHANNELS.idFromName('channel:' + url.searchParams.get('channel')));
      await stub.restartForTest().catch(() => {});
      return new Response('restarted');
    }
    if (url.pathname === '/__test/shard-calls') {
      const count = Number(url.searchParams.get('shards'));
      const calls = [];
      for (let i = 0; i < count; i++) {
        calls.push(await env.REALTIME_SHARDS.get(env.REALTIME_SHARDS.idFromName('shard:' + i)).takeDeliveriesForTest());
      }
      return Response.json(calls);
    }
    return worker.fetch(request, env, ctx);
  },
};
`;
