import type { Context, Hono, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { WSContext, WSEvents } from 'hono/ws';
import { tokenExpiry } from '../auth/token-expiry';
import type { AppEnv } from '../deps';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { UpgradeRequiredError } from '../errors/upgrade-required-error';
import { authenticate, bearerToken } from '../middleware/auth';
import type { RealtimeSession, SocketSink } from './session';

/** How a runtime turns a request into a WebSocket; the protocol itself lives in src/realtime. */
export interface RealtimeTransport {
  /** Hono's `upgradeWebSocket(createEvents)` of the runtime (node-ws, cloudflare-workers, ...). */
  upgrade(createEvents: (c: Context<AppEnv>) => WSEvents): MiddlewareHandler<AppEnv>;
  /**
   * Native socket controls where the runtime has them (Node `ws`: a direct send, ping frames and
   * their pongs, terminate, buffered bytes). Without them the session sends through the WSContext
   * and pings with `{"event":"ping"}` messages.
   */
  nativeSocket?(ws: WSContext, onPong: () => void): Partial<SocketSink>;
}

/**
 * Authenticates before anything is upgraded: `Authorization: Bearer` or `?token=` (browsers
 * cannot set headers on a WebSocket). A bad token is a JSON 401 and no socket is ever opened.
 */
const authenticateUpgrade = createMiddleware<AppEnv>(async (c, next) => {
  const gateway = c.var.deps.realtime;
  if (!gateway?.accepting) throw new ServiceUnavailableError('Realtime is not accepting connections');
  const token = bearerToken(c.req.header('authorization')) ?? c.req.query('token');
  const user = await authenticate(c, token);
  const refusal = gateway.refusal(user.id);
  if (refusal) throw refusal;
  c.set('user', user);
  await next();
});

/**
 * The socket's event handlers. Built synchronously from values the middleware already resolved:
 * anything awaited here would let the runtime deliver the first frames before the handlers exist.
 */
function socketEvents(c: Context<AppEnv>, transport: RealtimeTransport): WSEvents {
  const gateway = c.var.deps.realtime;
  const { id, role } = c.var.user;
  const expiresAt = tokenExpiry(bearerToken(c.req.header('authorization')) ?? c.req.query('token'));
  let session: RealtimeSession | undefined;
  return {
    onOpen(_event, ws) {
      if (!gateway || ws.readyState !== 1) return;
      const native = transport.nativeSocket?.(ws, () => session?.pong());
      session = gateway.connect(
        { id, role, expiresAt },
        {
          send: (text) => ws.send(text),
          close: (code, reason) => ws.close(code, reason),
          ...native,
        },
      );
    },
    onMessage(event) {
      session?.receive(event.data);
    },
    onClose() {
      session?.end();
    },
    onError() {
      session?.end();
    },
  };
}

/**
 * Mounts `GET /ws` on an app built by `createApp`. Call it before the app serves its first
 * request (Hono compiles its router then). A plain GET with a valid token gets 426.
 */
export function registerRealtime(app: Hono<AppEnv>, transport: RealtimeTransport, path = '/ws'): void {
  app.get(
    path,
    authenticateUpgrade,
    transport.upgrade((c) => socketEvents(c, transport)),
    () => {
      throw new UpgradeRequiredError();
    },
  );
}
