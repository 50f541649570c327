import { type DescribeRouteOptions, describeRoute, resolver } from 'hono-openapi';
import type { ZodType } from 'zod';

export const ERROR_SCHEMA_REF = '#/components/schemas/Error';

/** Who may call a route: the security requirement and the 401/403 it implies. */
export type RouteAuth = 'public' | 'user' | 'admin' | 'metrics';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Validation error: `details` lists the zod issues',
  401: 'Missing, invalid or expired bearer token',
  403: 'Authenticated, but the role does not allow it',
  404: 'Not found, or not yours',
  409: 'Conflict with the current state',
  413: 'Body larger than 1 MiB',
  415: 'Body is not application/json',
  426: 'A WebSocket upgrade is required',
  429: 'Rate limited: see `Retry-After`',
  500: 'Unexpected error (no details are disclosed)',
  503: 'A dependency (database, MCP server) is unavailable',
};

// What the one error renderer adds: TooManyRequestsError always names its wait, an unavailable database a short one.
const ERROR_HEADERS: Record<number, Record<string, { description: string; required: boolean; schema: object }>> = {
  429: { 'Retry-After': { description: 'Seconds to wait', required: true, schema: { type: 'integer' } } },
  503: {
    'Retry-After': { description: 'Seconds to wait (when the database is down)', required: false, schema: { type: 'integer' } },
  },
};

export function errorResponse(status: number) {
  return {
    description: ERROR_DESCRIPTIONS[status] ?? 'Error',
    ...(ERROR_HEADERS[status] ? { headers: ERROR_HEADERS[status] } : {}),
    content: { 'application/json': { schema: { $ref: ERROR_SCHEMA_REF } } },
  };
}

interface SuccessResponse {
  description: string;
  /** JSON body schema; absent for bodiless answers (204). */
  schema?: ZodType;
  /** Other media types, e.g. text/plain for /metrics. */
  content?: Record<string, { schema: object }>;
}

export interface RouteDocOptions {
  summary: string;
  description?: string;
  tags: string[];
  auth: RouteAuth;
  responses: Record<number, SuccessResponse>;
  /** Error statuses this route answers besides the ones its auth implies and 500. */
  errors?: number[];
  /** A JSON body the handler reads itself (when it is not validated by `validate('json')`). */
  body?: ZodType;
  /** The route touches no database or other dependency, so it cannot answer 503. */
  selfContained?: boolean;
}

const SECURITY: Record<RouteAuth, Array<Record<string, string[]>>> = {
  public: [],
  user: [{ bearerAuth: [] }],
  admin: [{ bearerAuth: [] }],
  metrics: [{ metricsToken: [] }, { bearerAuth: [] }],
};

/**
 * `describeRoute` with the API's conventions: bearer security, the `{"error": ...}` body on
 * every error status (401/403 from `auth`, 429 for signed-in callers, 500 always, 503 unless the
 * route is self-contained), JSON success bodies from zod schemas.
 */
export function routeDoc(options: RouteDocOptions) {
  const responses: NonNullable<DescribeRouteOptions['responses']> = {};
  for (const [status, response] of Object.entries(options.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema ? { content: { 'application/json': { schema: resolver(response.schema) } } } : {}),
      ...(response.content ? { content: response.content } : {}),
    };
  }
  const errors = new Set(options.errors ?? []);
  if (options.auth !== 'public') errors.add(401);
  // Signed-in callers spend their HTTP budget (HTTP_USER_BYTES_PER_SECOND) on every request.
  if (options.auth === 'user' || options.auth === 'admin') errors.add(429);
  if (options.auth === 'admin' || options.auth === 'metrics') errors.add(403);
  errors.add(500);
  // Any query can meet a database that went away: the error renderer answers it with 503.
  if (!options.selfContained && !options.responses[503]) errors.add(503);
  for (const status of [...errors].sort()) responses[String(status)] = errorResponse(status);
  return describeRoute({
    summary: options.summary,
    description: options.description,
    tags: options.tags,
    security: SECURITY[options.auth],
    ...(options.body
      ? { requestBody: { required: false, content: { 'application/json': { schema: resolver(options.body) } } } }
      : {}),
    responses,
  });
}
