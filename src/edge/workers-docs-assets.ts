import type { Fetcher } from '@cloudflare/workers-types/index.ts';
import { DOCS_ASSET_FILES, type DocsAssets } from '../docs/docs-assets';

/**
 * Swagger UI's files from the Worker's static assets (wrangler.toml `[assets]`, filled by
 * scripts/edge-assets.ts). The Worker runs first for every path, so these answers get the
 * same headers as on Node; the binding's host name is ignored.
 */
export function workersDocsAssets(assets: Fetcher): DocsAssets {
  return {
    async get(file) {
      const contentType = DOCS_ASSET_FILES.get(file);
      if (!contentType) return undefined;
      const response = await assets.fetch(`https://assets.local/${file}`);
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      return { body: new Uint8Array(await response.arrayBuffer()), contentType };
    },
  };
}
