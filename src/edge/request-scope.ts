// Workers implement AsyncLocalStorage natively (nodejs_compat); it is how one app, built once per
// isolate, reaches the I/O objects of the request it is serving and never those of another.
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The current request's value of `Scope`, for code that was built before the request existed.
 * Reading it outside `run` is a programming error (an I/O object used from the wrong request),
 * so it throws instead of handing out someone else's.
 */
export class RequestScoped<Scope> {
  private readonly storage = new AsyncLocalStorage<Scope>();

  run<T>(scope: Scope, serve: () => T): T {
    return this.storage.run(scope, serve);
  }

  get current(): Scope {
    const scope = this.storage.getStore();
    if (scope === undefined) throw new Error('A request-scoped edge dependency was used outside a request');
    return scope;
  }
}
