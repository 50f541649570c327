import { routeDoc } from '../http/route-doc';

export const metricsDocs = {
  scrape: routeDoc({
    summary: 'Prometheus metrics',
    description:
      'Text exposition format. `Authorization: Bearer <METRICS_TOKEN>` or an admin access token. Series: http_request_duration_seconds, workflow_runs_total, workflow_run_duration_seconds, workflow_queue_depth, ws_connections, ws_connections_total, ws_messages_total, mcp_call_duration_seconds, mcp_gateway_sessions, and the process defaults.',
    tags: ['Operators'],
    auth: 'metrics',
    responses: {
      200: {
        description: 'Metrics',
        content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
      },
    },
  }),
};
