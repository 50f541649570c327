/**
 * Wrangler's build step (wrangler.toml `[build]`, run before every `wrangler dev` and
 * `wrangler deploy`): copies the files the /docs page loads (Swagger UI, from the installed
 * `swagger-ui-dist`) into the Worker's static-assets directory, so /docs works offline in
 * `npm run dev:edge` and without a CDN in production. Only those files: the directory is
 * uploaded as it is.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCS_ASSET_FILES } from '../src/docs/docs-assets';

const EDGE_ASSETS_DIR = fileURLToPath(new URL('../dist/edge-assets', import.meta.url));

const source = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
rmSync(EDGE_ASSETS_DIR, { recursive: true, force: true });
mkdirSync(EDGE_ASSETS_DIR, { recursive: true });
for (const file of DOCS_ASSET_FILES.keys()) copyFileSync(join(source, file), join(EDGE_ASSETS_DIR, file));
