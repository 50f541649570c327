import { Hono } from 'hono';
import type { AppDeps, AppEnv } from './deps';
import { NotFoundError } from './errors/not-found-error';
import { bodyGuard } from './middleware/body-guard';
import { renderError } from './middleware/error-handler';
import { requestEnvelope } from './middleware/request-envelope';
import { adminRoutes } from './users/admin.routes';
import { registerApiDocs } from './docs/api-docs.routes';
import { authRoutes } from './auth/auth.routes';
import { healthRoutes } from './health/health.routes';
import { mcpRoutes } from './mcp-gateway/mcp.routes';
import { mcpWebSocketRoutes } from './mcp-gateway/mcp-websocket.routes';
import { metricsRoutes } from './observability/metrics.routes';
import { protectedResourceRoutes } from './mcp-gateway/oauth-protected-resource.routes';
import { profileRoutes } from './users/profile.routes';
import { projectRoutes } from './projects/projects.routes';
import { realtimeRoutes } from './realtime/realtime.routes';
import { serverEventRoutes } from './realtime/server-events.routes';
import { QUEUE_DASHBOARD_PATH, queueDashboardRoutes } from './runs/queue-dashboard.routes';
import { runRoutes } from './runs/runs.routes';
import { toolRoutes } from './tools/tools.routes';
import { workflowRoutes } from './workflows/workflows.routes';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The whole HTTP API as one Hono app, every route of it. Portable: it sees the runtime only
 * through `deps`, so Node, Workers and tests each build it with their own parts; routes whose
 * runtime part is absent (WebSockets, Bull Board, edge events) are not mounted.
 */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.use(
    requestEnvelope(deps, {
      origin: (origin) => (deps.config.corsOrigins.includes(origin) ? origin : null),
      allowHeaders: [
        'Authorization',
        'Content-Type',
        'Idempotency-Key',
        'X-Request-Id',
        'Mcp-Session-Id',
        'Mcp-Protocol-Version',
      ],
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      exposeHeaders: ['X-Request-Id', 'Retry-After', 'Mcp-Session-Id'],
      maxAge: 600,
    }),
  );
  // /mcp speaks MCP's own transports, whose bodies are not ours to type-check.
  app.use(bodyGuard({ maxBytes: BODY_LIMIT_BYTES, acceptsAnyType: (path) => path === '/mcp' || path.startsWith('/mcp/') }));

  app.route('/health', healthRoutes);
  app.route('/auth', authRoutes);
  app.route('/profile', profileRoutes);
  app.route('/admin', adminRoutes);
  if (deps.queueDashboard) app.route(QUEUE_DASHBOARD_PATH, queueDashboardRoutes(deps.queueDashboard));
  app.route('/projects', projectRoutes);
  // Runs first: /queue and /runs/* must not be taken for a workflow id.
  app.route('/api/workflows', runRoutes);
  app.route('/api/workflows', workflowRoutes);
  app.route('/tools', toolRoutes);
  app.route('/metrics', metricsRoutes);
  // Streamable HTTP; WebSocket upgrades of GET /mcp fall through to the WebSocket route after it.
  app.route('/mcp', mcpRoutes);
  if (deps.webSockets) app.route('/mcp', mcpWebSocketRoutes(deps.webSockets));
  const realtime = realtimeRoutes(deps);
  if (realtime) app.route('/ws', realtime);
  if (deps.serverEvents) app.route('/internal/events', serverEventRoutes(deps.serverEvents));
  app.route('/', protectedResourceRoutes);
  // Last: the document is generated from every route registered before it is first read.
  registerApiDocs(app);

  app.notFound(() => {
    throw new NotFoundError('Route not found');
  });
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof createApp>;
