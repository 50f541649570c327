import { HttpError } from './http-error';

/** A plain HTTP request reached an endpoint that only speaks WebSocket. */
export class UpgradeRequiredError extends HttpError {
  constructor(message = 'This endpoint requires a WebSocket upgrade') {
    super(426, 'upgrade_required', message, undefined, { Upgrade: 'websocket' });
  }
}
