import { createRequire } from 'node:module';
import { Router } from 'express';
import type { OpenApiDocument } from './document';

// GET /openapi.json (the document, made once at start) and GET /docs (an interactive reference,
// RapiDoc, whose one script is served from node_modules: no CDN). No key needed for either: the
// document holds no secrets, and the reference's console sends the key the reader types in.

const rapidocScript = createRequire(import.meta.url).resolve('rapidoc/dist/rapidoc-min.js');

/** The page's own policy, in place of the API's `default-src 'none'`: only what RapiDoc needs. */
export const docsContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  // RapiDoc's templates carry inline style attributes; styles cannot run code.
  "style-src 'self' 'unsafe-inline'",
  // The document, and the requests its console sends: this API only.
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// load-fonts="false": RapiDoc would fetch its font from Google otherwise.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>durable-agents API reference</title>
<script type="module" src="/docs/rapidoc-min.js"></script>
</head>
<body>
<rapi-doc spec-url="/openapi.json" load-fonts="false" render-style="focused" show-header="false" allow-authentication="true" persist-auth="false" schema-description-expanded="true" allow-spec-url-load="false" allow-spec-file-load="false"></rapi-doc>
</body>
</html>
`;

export function referenceRouter(document: OpenApiDocument): Router {
  const router = Router();
  const body = JSON.stringify(document);
  router.get('/openapi.json', (_request, response) => {
    response.type('application/json').send(body);
  });
  router.get('/docs', (_request, response) => {
    response.setHeader('Content-Security-Policy', docsContentSecurityPolicy);
    response.type('html').send(page);
  });
  router.get('/docs/rapidoc-min.js', (_request, response, next) => {
    response.sendFile(rapidocScript, { maxAge: '1h' }, (error) => error && next(error));
  });
  return router;
}
