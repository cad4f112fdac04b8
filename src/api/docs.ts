/**
 * @module `/docs`: the OpenAPI reference (Swagger UI) served entirely from this server: the page,
 * its script and style sheet (bundled swagger-ui-dist, app/docs-assets.ts) and its start-up script,
 * under a strict Content-Security-Policy that lets the page load nothing from anywhere else. It
 * works with no network (issue 17 item 2); the CDN page it replaces loaded unpinned files without
 * integrity hashes.
 */
import type { Env, Hono } from 'hono';

import { readDocsAsset } from '../app/index.js';

/** Scripts and styles only from this origin; the OpenAPI document fetched from it; no frames, no forms elsewhere. */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI's React components set style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const INIT_JS = `window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wafgen API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<script src="/docs/assets/swagger-ui-bundle.js" defer></script>
<script src="/docs/assets/init.js" defer></script>
</head>
<body>
<main id="swagger-ui"><noscript><p>This reference needs JavaScript. The OpenAPI document itself is at <a href="/openapi.json">/openapi.json</a>.</p></noscript></main>
</body>
</html>
`;

/** Adds `/docs` and its assets to the app. */
export function registerDocs<E extends Env>(app: Hono<E>): void {
  app.get('/docs', (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    c.header('Cache-Control', 'no-cache');
    return c.html(PAGE);
  });
  app.get('/docs/assets/init.js', (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(INIT_JS);
  });
  app.get('/docs/assets/:name', async (c) => {
    const pending = readDocsAsset(c.req.param('name'));
    if (!pending) return c.json({ error: { code: 'not_found', message: 'no such docs asset' } }, 404);
    const asset = await pending;
    const etag = `"swagger-ui-${asset.version}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', 'public, max-age=3600');
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    c.header('Content-Type', asset.type);
    return c.body(asset.body);
  });
}
