import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import { consoleDist } from './console-assets';

// The web console at / (web/, built into web/dist): its pages (/, /runs/:runId, /sessions and
// /sessions/:sessionId, all the same single page) and its hashed assets. No key is needed to
// load it: it holds no data, and asks for a key when the API wants one (kept in the tab's
// session storage). Its own CSP in place of the API's `default-src 'none'`: only this origin.

export const consoleContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>durable-agents</title></head>
<body><h1>The console is not built</h1><p>Run <code>npm run build:web</code> (it needs the dev dependencies: <code>npm install</code>), or use the API: <a href="/docs">/docs</a>.</p></body></html>`;

export function consoleRouter(dist = consoleDist): Router {
  const router = Router();
  const page = (_request: express.Request, response: express.Response) => {
    response.setHeader('Content-Security-Policy', consoleContentSecurityPolicy);
    const index = join(dist, 'index.html');
    // Read at each request: a rebuild (npm run build:web) shows without a restart; it is small.
    if (!existsSync(index)) return void response.status(503).type('html').send(notBuilt);
    response.setHeader('Cache-Control', 'no-cache');
    response.type('html').send(readFileSync(index, 'utf8'));
  };
  router.get(['/', '/runs/:runId', '/sessions', '/sessions/:sessionId'], page);
  // Hashed file names: cached for a year; a new build has new names.
  router.use('/assets', express.static(join(dist, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: true }));
  router.get('/favicon.svg', (_request, response, next) => {
    response.sendFile(join(dist, 'favicon.svg'), { maxAge: '1d' }, (error) => error && next());
  });
  return router;
}
