import { redactUrlCredentials } from '../config/redact-url';

/**
 * An MCP client, relay or gateway error as it may be shown (runs, /tools/list, /health, logs):
 * the HTTP status the SDK's transport errors (StreamableHTTPError, SseError) carry only as a
 * field, the cause's message, and never a URL's credentials.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return redactUrlCredentials(String(error));
  const status = (error as { code?: unknown }).code;
  const http = typeof status === 'number' && status >= 100 && status < 600 ? `HTTP ${status}: ` : '';
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return redactUrlCredentials(`${http}${error.message}${cause}`);
}
