/** Files the /docs page loads (Swagger UI); served by the runtime so the page works offline. */
export interface DocsAssets {
  get(file: string): Promise<{ body: Uint8Array; contentType: string } | undefined>;
}

/** File name → content type. A Map: the name comes from the URL, and `__proto__` is no file. */
export const DOCS_ASSET_FILES: ReadonlyMap<string, string> = new Map([
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
]);

/** Where a runtime without local files (Workers) sends the browser instead. */
export const DOCS_ASSETS_CDN = 'https://cdn.jsdelivr.net/npm/swagger-ui-dist@5';
