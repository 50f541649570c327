// The one export of the runtime module `cloudflare:workers` the edge uses (workers-types declares
// it only in its global flavour, which this project does not load).
declare module 'cloudflare:workers' {
  import type { DurableObjectState } from '@cloudflare/workers-types/index.ts';

  /** A Durable Object class whose public methods workerd serves over RPC to the object's stubs. */
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}
