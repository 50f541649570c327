/**
 * Baseline for bench/queue.mjs: a bare BullMQ worker that makes the same MCP call (echo over
 * Streamable HTTP through the same client) with no database, checkpoints or events.
 * Env: REDIS_URL, MCP_URL, QUEUE_NAME, CONCURRENCY.
 */
import { Worker } from 'bullmq';
import { silentLogger } from '../src/logging/logger';
import { createMcpClient } from '../src/node/mcp-client-factory';
import { connectRedis } from '../src/node/redis-connections';

const redis = connectRedis(process.env.REDIS_URL as string);
const mcp = createMcpClient({ mcpUrl: process.env.MCP_URL }, silentLogger);
await mcp.listTools();
const worker = new Worker(
  process.env.QUEUE_NAME as string,
  async (job) => {
    const result = await mcp.callTool({ name: 'echo', arguments: { text: String(job.data.text) } });
    if (result.isError) throw new Error('echo failed');
    return result.structuredContent;
  },
  { connection: redis, concurrency: Number(process.env.CONCURRENCY ?? 16) },
);
await worker.waitUntilReady();
console.log('"bare worker started"');
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
