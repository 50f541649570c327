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

// Structural guards for messages a transport has already validated against the SDK's
// JSONRPCMessage schema: the SDK's own `isJSONRPC*` guards run a zod parse on every call,
// several times per relayed message.
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
