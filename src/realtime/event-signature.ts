/**
 * Signed server-to-server events (Node worker → edge `/internal/events`). Portable: Web Crypto
 * only, so the Node signer and the Worker verifier share this file.
 *
 * The signature is HMAC-SHA256 over `<timestamp>.<body>` with the shared EDGE_EVENTS_SECRET,
 * sent as `X-Event-Signature: v1=<hex>` next to `X-Event-Timestamp: <unix seconds>`. The verifier
 * refuses timestamps more than five minutes away from its clock, so a captured request cannot be
 * replayed later; `crypto.subtle.verify` compares in constant time.
 */

export const SIGNATURE_HEADER = 'x-event-signature';
export const TIMESTAMP_HEADER = 'x-event-timestamp';
export const REPLAY_WINDOW_SECONDS = 300;

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** The two headers to send with `body`. */
export async function signEvent(secret: string, body: string, nowMs = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), encoder.encode(`${timestamp}.${body}`));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${toHex(mac)}` };
}

export type SignatureProblem = 'missing' | 'stale' | 'invalid';

/** Undefined when the headers prove `body` came from a holder of `secret` within the window. */
export async function signatureProblem(
  secret: string,
  body: string,
  headers: { timestamp?: string | null; signature?: string | null },
  nowMs = Date.now(),
): Promise<SignatureProblem | undefined> {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'invalid';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > REPLAY_WINDOW_SECONDS) return 'stale';
  const mac = signature.startsWith('v1=') ? fromHex(signature.slice(3)) : undefined;
  if (mac?.length !== 32) return 'invalid';
  const valid = await crypto.subtle.verify(
    'HMAC',
    await hmacKey(secret, 'verify'),
    mac,
    encoder.encode(`${timestamp}.${body}`),
  );
  return valid ? undefined : 'invalid';
}
