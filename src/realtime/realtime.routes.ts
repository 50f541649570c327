import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { WSContext, WSEvents } from 'hono/ws';
import { tokenExpiry } from '../auth/token-expiry';
import type { AppDeps, AppEnv } from '../deps';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { UpgradeRequiredError } from '../errors/upgrade-required-error';
import { authenticate, upgradeToken } from '../middleware/auth';
import type { RealtimeUser } from './channel-acl';
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
 * Where /ws sockets live when this process does not hold them (the edge's connection Durable
 * Objects): an authenticated upgrade request is handed over, and its answer is the 101.
 */
export interface RealtimeHost {
  connect(request: Request, user: RealtimeUser): Promise<Response>;
}

/**
 * Authenticates before anything is upgraded: `Authorization: Bearer` or `?token=` (browsers
 * cannot set headers on a WebSocket). A bad token is a JSON 401 and no socket is ever opened.
 */
const authenticateUpgrade = createMiddleware<AppEnv>(async (c, next) => {
  const gateway = c.var.deps.realtime;
  if (!gateway?.accepting) throw new ServiceUnavailableError('Realtime is not accepting connections');
  const token = upgradeToken(c);
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
  const expiresAt = tokenExpiry(upgradeToken(c));
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

/** `GET /ws` served by this process's RealtimeGateway (`deps.realtime`) through the runtime's upgrade. */
function localRealtimeRoutes(transport: RealtimeTransport) {
  return new Hono<AppEnv>().get(
    '/',
    authenticateUpgrade,
    transport.upgrade((c) => socketEvents(c, transport)),
    () => {
      throw new UpgradeRequiredError();
    },
  );
}

/**
 * `GET /ws` handed to a `RealtimeHost`: the token is checked here (401 before any upgrade, as
 * where the sockets are local), and the socket lives no longer than that token.
 */
function hostedRealtimeRoutes(host: RealtimeHost) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const token = upgradeToken(c);
    const user = await authenticate(c, token);
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new UpgradeRequiredError();
    const realtimeUser = { id: user.id, role: user.role, expiresAt: tokenExpiry(token) };
    return host.connect(c.req.raw, realtimeUser).catch((error: unknown) => {
      c.var.deps.logger.warn({ err: { message: String(error) } }, 'connection shard unreachable');
      throw new ServiceUnavailableError('Realtime is unavailable; retry later');
    });
  });
}

/**
 * `GET /ws` where the runtime can serve it: sockets held elsewhere (`deps.realtimeHost`) or in
 * this process (`deps.webSockets`). A plain GET with a valid token gets 426.
 */
export function realtimeRoutes(deps: AppDeps): Hono<AppEnv> | undefined {
  if (deps.realtimeHost) return hostedRealtimeRoutes(deps.realtimeHost);
  if (deps.webSockets) return localRealtimeRoutes(deps.webSockets);
  return undefined;
}
