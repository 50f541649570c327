import { type DescribeRouteOptions, describeRoute } from 'hono-openapi';
import * as z from 'zod';
import { ERROR_SCHEMA_REF, errorResponse, routeDoc } from '../http/route-doc';

/**
 * The OpenAPI description of `/mcp` (MCP Streamable HTTP) and of the metadata that tells MCP
 * clients how to authenticate there. `/mcp` is not a REST route: its requests and answers are
 * JSON-RPC, and the errors its MCP transport answers itself (bad JSON, Accept, media type,
 * protocol version, a method stateless mode has not) carry a JSON-RPC error body, while those
 * the API answers (token, session, caps, upstream) carry the API's usual one.
 */

export const JSON_RPC_ERROR_SCHEMA_REF = '#/components/schemas/JsonRpcError';

export const jsonRpcErrorSchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.string(), z.number(), z.null()]).describe('null when the request could not be read'),
    error: z.object({
      code: z
        .number()
        .int()
        .describe('-32700 parse error, -32600 invalid request, -32000 transport refusal, -32001 session not found'),
      message: z.string(),
      data: z.unknown().optional(),
    }),
  })
  .describe('A JSON-RPC 2.0 error, as the MCP transport answers it');

type Body = 'api' | 'json-rpc';

const SCHEMA_OF: Record<Body, { $ref: string }> = {
  api: { $ref: ERROR_SCHEMA_REF },
  'json-rpc': { $ref: JSON_RPC_ERROR_SCHEMA_REF },
};

function error(description: string, bodies: Body[], headers?: Record<string, { description: string; schema: object }>) {
  const schema = bodies.length === 1 ? SCHEMA_OF[bodies[0] as Body] : { oneOf: bodies.map((body) => SCHEMA_OF[body]) };
  return { description, content: { 'application/json': { schema } }, ...(headers ? { headers } : {}) };
}

const text = { type: 'string' as const };

const SESSION_ID_HEADER = { description: 'The session (set by the answer to `initialize`)', schema: text };

const header = (name: string, required: boolean, description: string) => ({
  name,
  in: 'header' as const,
  required,
  description,
  schema: text,
});

const sessionId = (required: boolean) =>
  header(
    'Mcp-Session-Id',
    required,
    required
      ? 'The session, as the answer to `initialize` gave it'
      : 'The session, as the answer to `initialize` gave it; absent on `initialize` and on requests served without a session',
  );
const protocolVersion = header(
  'Mcp-Protocol-Version',
  false,
  'The negotiated protocol version (e.g. `2025-11-25`); an unsupported one is a 400',
);

const common = {
  401: error('Missing, invalid or expired bearer token', ['api'], {
    'WWW-Authenticate': {
      description:
        '`Bearer realm="mcp", resource_metadata="<origin>/.well-known/oauth-protected-resource/mcp"`, plus `error="invalid_token"` and `error_description` when a token was sent',
      schema: text,
    },
  }),
  404: error('No such session for this user (expired, ended, on another instance, or not yours): initialize again', [
    'api',
    'json-rpc',
  ]),
  500: errorResponse(500),
};

function mcpRoute(options: {
  summary: string;
  description: string;
  parameters: NonNullable<DescribeRouteOptions['parameters']>;
  requestBody?: DescribeRouteOptions['requestBody'];
  responses: NonNullable<DescribeRouteOptions['responses']>;
}) {
  return describeRoute({
    tags: ['MCP'],
    security: [{ bearerAuth: [] }],
    ...options,
    responses: { ...options.responses, ...common },
  });
}

const notInStateless = error('`MCP_GATEWAY_MODE=stateless`: only POST is served (`Allow: POST`)', ['json-rpc'], {
  Allow: { description: '`POST`', schema: text },
});

export const mcpDocs = {
  post: mcpRoute({
    summary: 'MCP gateway (Streamable HTTP): send JSON-RPC',
    description:
      'One JSON-RPC message (or a batch) for the upstream MCP server. `initialize` without a session opens one (its answer carries `Mcp-Session-Id`); any other request without a session is served on its own. A request is answered with `application/json` when its answer is the first thing to come back, or with an SSE stream of its own when the upstream streams (or the request carries a `progressToken`): related messages first, the answer last. Every event has an id (resume with GET and `Last-Event-ID`). Notifications and responses get 202. `_meta.userId` is set to the caller; tools outside `MCP_ALLOWED_TOOLS` are refused. The user token is never forwarded upstream. A WebSocket upgrade of GET /mcp relays the same messages, one per frame.',
    parameters: [
      header('Accept', true, 'Must list both `application/json` and `text/event-stream` (406 otherwise)'),
      sessionId(false),
      protocolVersion,
    ],
    requestBody: {
      required: true,
      description: '`Content-Type: application/json` (415 otherwise), at most 1 MiB (413)',
      content: {
        'application/json': {
          schema: {
            oneOf: [
              { type: 'object', description: 'A JSON-RPC 2.0 request, notification or response' },
              {
                type: 'array',
                minItems: 1,
                items: { type: 'object' },
                description: 'A batch (protocol versions before 2025-06-18)',
              },
            ],
          },
        },
      },
    },
    responses: {
      200: {
        description: 'The answer: JSON, or an SSE stream carrying related messages and then the answer',
        headers: { 'Mcp-Session-Id': SESSION_ID_HEADER },
        content: {
          'application/json': { schema: { type: 'object', description: 'JSON-RPC 2.0 response (or batch of them)' } },
          'text/event-stream': { schema: { ...text, description: '`id:` and `data: <JSON-RPC message>` events' } },
        },
      },
      202: { description: 'Notifications or responses only: accepted' },
      400: error(
        'Not JSON, not JSON-RPC (`{"a":1}`, `[]`), a second `initialize`, an unsupported protocol version (JSON-RPC body), or no session header where one is needed',
        ['json-rpc', 'api'],
      ),
      406: error('Accept does not list both `application/json` and `text/event-stream`', ['json-rpc']),
      413: errorResponse(413),
      415: error('Content-Type is not `application/json`', ['json-rpc']),
      429: error('Over `MCP_MAX_SESSIONS_PER_USER` or `MCP_MAX_SESSIONS`', ['api'], {
        'Retry-After': {
          description: 'Seconds until a session in the way can stop counting',
          schema: { type: 'integer' },
        },
      }),
      503: error('The upstream MCP server cannot be reached (it is not named)', ['api']),
    },
  }),
  get: mcpRoute({
    summary: 'MCP gateway (Streamable HTTP): the server-to-client stream',
    description:
      "Opens the session's SSE stream for messages that belong to no request (server requests, list changes, logs). With `Last-Event-ID` it resumes a stream the client lost: what was sent after that event, then the stream goes on (a request's stream up to its answer). Messages sent while no GET stream is open wait for one (bounded by `MCP_SESSION_BACKLOG_BYTES`). A GET with `Upgrade: websocket` is the WebSocket transport instead.",
    parameters: [
      header('Accept', true, 'Must list `text/event-stream` (406 otherwise)'),
      sessionId(true),
      protocolVersion,
      header('Last-Event-ID', false, 'The id of the last event received, to resume from'),
    ],
    responses: {
      200: {
        description: 'SSE stream (comment lines keep it alive)',
        headers: { 'Mcp-Session-Id': SESSION_ID_HEADER },
        content: { 'text/event-stream': { schema: text } },
      },
      400: error('No `Mcp-Session-Id`, or an unsupported protocol version', ['api', 'json-rpc']),
      405: notInStateless,
      406: error('Accept does not list `text/event-stream`', ['json-rpc']),
      409: error('The GET stream is open already and none is resumed (no known `Last-Event-ID`)', ['json-rpc']),
    },
  }),
  delete: mcpRoute({
    summary: 'MCP gateway (Streamable HTTP): end the session',
    description: 'Ends the session and its upstream session; requests still waiting are answered with an error first.',
    parameters: [sessionId(true), protocolVersion],
    responses: {
      200: { description: 'Session ended' },
      400: error('No `Mcp-Session-Id`, or an unsupported protocol version', ['api', 'json-rpc']),
      405: notInStateless,
    },
  }),
};

export const protectedResourceMetadataSchema = z.object({
  resource: z.url().describe('The protected resource: `<origin>/mcp`, or the API (`<origin>`) at the root document'),
  resource_name: z.string(),
  bearer_methods_supported: z.array(z.string()),
  resource_documentation: z.url(),
  token_endpoint: z
    .url()
    .describe("Not OAuth: POST `{username, password}` as JSON; the answer's `accessToken` is the bearer token"),
  token_refresh_endpoint: z.url().describe('POST `{refreshToken}` as JSON for a new token pair'),
});

export const protectedResourceDocs = routeDoc({
  summary: 'OAuth 2.0 Protected Resource Metadata (RFC 9728)',
  description:
    'How MCP clients learn to authenticate at `/mcp` (the `resource_metadata` of its `WWW-Authenticate` challenge points here). This API issues its own bearer tokens: it names no OAuth authorization server, and `token_endpoint` is where tokens are had.',
  tags: ['MCP'],
  auth: 'public',
  selfContained: true,
  responses: { 200: { description: 'The metadata', schema: protectedResourceMetadataSchema } },
});
