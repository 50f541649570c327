/**
 * Stands in for `ajv` and `ajv-formats` in the Worker bundle (wrangler.toml `[alias]`). Ajv
 * compiles every schema into a function with `new Function`, which Workers forbid, so the edge
 * validates with @cfworker/json-schema and hands it to every MCP SDK client and server it makes
 * (`jsonSchemaValidator`). The SDK still imports Ajv for its default; this keeps it out of the
 * bundle, and a server or client built without a validator fails loudly instead of at the first
 * schema it compiles. (`ajv-formats` is only ever applied to an Ajv instance, which cannot exist.)
 */
export default class AjvUnavailableOnWorkers {
  constructor() {
    throw new Error('Ajv cannot run on Workers: pass jsonSchemaValidator: new CfWorkerJsonSchemaValidator()');
  }
}
