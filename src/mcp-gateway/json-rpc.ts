import type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResultResponse,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC error codes the gateway answers with (the standard ones plus MCP's -32000/-32001). */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  /** MCP: the connection (here: the upstream session) is closed or unusable. */
  ConnectionClosed: -32000,
  /** MCP: no answer in time. */
  RequestTimeout: -32001,
  /** LSP's code for a request its sender cancelled (JSON-RPC has none). */
  RequestCancelled: -32800,
} as const;

export function rpcError(id: RequestId, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/**
 * An error for a message whose id could not be read (JSON-RPC says `id: null` then). The
 * SDK's message type has no null id, hence the cast; it is only ever serialized.
 */
export function rpcErrorWithoutId(code: number, message: string): JSONRPCMessage {
  return { jsonrpc: '2.0', id: null, error: { code, message } } as unknown as JSONRPCMessage;
}

/** The id of something that looks like a request, for an error answer to a malformed one. */
export function idOf(value: unknown): RequestId | undefined {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = (value as { id: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') return id;
  }
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);
const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task';

function hasOnlyKeys(value: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || Number.isSafeInteger(value);
}

/** The SDK's `RequestMetaSchema`: an object whose `progressToken` and related-task entries, if any, are well-formed. */
function isValidMeta(meta: unknown): boolean {
  if (meta === undefined) return true;
  if (!isRecord(meta)) return false;
  if (meta.progressToken !== undefined && !isRequestId(meta.progressToken)) return false;
  const task = meta[RELATED_TASK_META_KEY];
  return task === undefined || (isRecord(task) && typeof task.taskId === 'string');
}

function isValidParams(params: unknown): boolean {
  return params === undefined || (isRecord(params) && isValidMeta(params._meta));
}

/**
 * `value` as a JSON-RPC message if the SDK's `JSONRPCMessageSchema` accepts it (the same
 * rules, test/mcp-gateway/json-rpc.test.ts checks them against the schema), else undefined.
 * A few property reads instead of a zod union parse: the relay checks every message that
 * crosses it, and zod's cost (most of all building the errors of the union's failed
 * branches) showed up on every relayed call. The message is returned as is, not copied.
 */
export function toJsonRpcMessage(value: unknown): JSONRPCMessage | undefined {
  if (!isRecord(value) || value.jsonrpc !== '2.0') return undefined;
  if ('method' in value) {
    if (typeof value.method !== 'string' || !isValidParams(value.params)) return undefined;
    const valid =
      value.id === undefined
        ? hasOnlyKeys(value, NOTIFICATION_KEYS)
        : isRequestId(value.id) && hasOnlyKeys(value, REQUEST_KEYS);
    return valid ? (value as JSONRPCMessage) : undefined;
  }
  if ('result' in value) {
    const valid =
      isRequestId(value.id) &&
      isRecord(value.result) &&
      isValidMeta(value.result._meta) &&
      hasOnlyKeys(value, RESULT_KEYS);
    return valid ? (value as JSONRPCMessage) : undefined;
  }
  const error = value.error;
  const valid =
    (value.id === undefined || isRequestId(value.id)) &&
    isRecord(error) &&
    Number.isSafeInteger(error.code) &&
    typeof error.message === 'string' &&
    hasOnlyKeys(value, ERROR_KEYS);
  return valid ? (value as JSONRPCMessage) : undefined;
}

// Structural guards for messages already validated (by `toJsonRpcMessage` or the SDK's
// schema): the SDK's own `isJSONRPC*` guards run a zod parse on every call.
type Validated = JSONRPCMessage;

export function isRequestMessage(message: Validated): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

export function isNotificationMessage(message: Validated): message is JSONRPCNotification {
  return 'method' in message && !('id' in message);
}

export function isResultMessage(message: Validated): message is JSONRPCResultResponse {
  return 'result' in message;
}

export function isErrorMessage(message: Validated): message is JSONRPCErrorResponse {
  return 'error' in message && !('method' in message);
}

/** A result or an error answering a request (an error may lack the id of what it answers). */
export function isAnswerMessage(
  message: Validated,
): message is (JSONRPCResultResponse | JSONRPCErrorResponse) & { id: RequestId } {
  return ('result' in message || 'error' in message) && message.id !== undefined;
}

/** `params._meta.progressToken` of a request, if it asks for progress. */
export function progressTokenOf(request: JSONRPCRequest): string | number | undefined {
  const meta = isRecord(request.params) && isRecord(request.params._meta) ? request.params._meta : undefined;
  const token = meta?.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}
