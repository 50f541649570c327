/**
 * Stands in for `zod/v4/core` in the Worker bundle (wrangler.toml `[alias]`): hono-openapi's
 * JSON Schema converter loads that module with a dynamic import only to call `toJSONSchema`, and
 * a dynamic import keeps the whole namespace — zod's error messages in every language — in the
 * bundle. zod's main entry re-exports the very same function.
 */
export { toJSONSchema } from 'zod';
