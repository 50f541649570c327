import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DOCS_ASSET_FILES, type DocsAssets } from '../docs/docs-assets';

/** Swagger UI's files from the installed `swagger-ui-dist` package, read once and kept in memory. */
export function swaggerUiAssets(): DocsAssets {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Uint8Array>>();
  return {
    async get(file) {
      const contentType = DOCS_ASSET_FILES.get(file);
      if (!contentType) return undefined;
      let body = cache.get(file);
      if (!body) {
        body = readFile(join(dir, file)).then((b) => new Uint8Array(b));
        cache.set(file, body);
      }
      return { body: await body, contentType };
    },
  };
}
