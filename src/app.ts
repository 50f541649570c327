import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppDeps, AppEnv } from './deps';
import { NotFoundError } from './errors/not-found-error';
import { PayloadTooLargeError } from './errors/payload-too-large-error';
import { browserCors } from './middleware/browser-cors';
import { renderError } from './middleware/error-handler';
import { jsonOnly } from './middleware/json-only';
import { requestId } from './middleware/request-id';
import { httpMetrics } from './middleware/http-metrics';
import { requestLogger } from './middleware/request-logger';
import { secureResponseHeaders } from './middleware/secure-response-headers';
import { skipBodyless } from './middleware/skip-bodyless';
import { skipUpgrades } from './middleware/skip-upgrades';
import { adminRoutes } from './routes/admin';
import { registerApiDocs } from './routes/api-docs';
import { authRoutes } from './routes/auth';
import { healthRoutes } from './routes/health';
import { mcpRoutes } from './routes/mcp';
import { metricsRoutes } from './routes/metrics';
import { profileRoutes } from './routes/profile';
import { projectRoutes } from './routes/projects';
import { runRoutes } from './routes/runs';
import { toolRoutes } from './routes/tools';
import { workflowRoutes } from './routes/workflows';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The whole HTTP API as one Hono app. Portable: it sees the runtime only through `deps`,
 * so Node, Workers and tests each build it with their own parts.
 */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  app.use(requestId);
  app.use(requestLogger);
  app.use(httpMetrics);
  app.use(
    skipUpgrades(
      browserCors({
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
    ),
  );
  app.use(secureResponseHeaders);
  app.use(
    skipBodyless(
      bodyLimit({
        maxSize: BODY_LIMIT_BYTES,
        onError: () => {
          throw new PayloadTooLargeError(`Request body is larger than ${BODY_LIMIT_BYTES} bytes`);
        },
      }),
    ),
  );
  app.use(jsonOnly({ except: (path) => path === '/mcp' || path.startsWith('/mcp/') }));

  app.route('/health', healthRoutes);
  app.route('/auth', authRoutes);
  app.route('/profile', profileRoutes);
  app.route('/admin', adminRoutes);
  app.route('/projects', projectRoutes);
  // Runs first: /queue and /runs/* must not be taken for a workflow id.
  app.route('/api/workflows', runRoutes);
  app.route('/api/workflows', workflowRoutes);
  app.route('/tools', toolRoutes);
  app.route('/metrics', metricsRoutes);
  // Streamable HTTP; WebSocket upgrades of GET /mcp fall through to registerMcpWebSocket (runtime entry).
  app.route('/mcp', mcpRoutes);
  // Last: the document is generated from every route registered before it is first read.
  registerApiDocs(app);

  app.notFound(() => {
    throw new NotFoundError('Route not found');
  });
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof createApp>;
