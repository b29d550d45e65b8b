// The web UI: static ES modules, CSS and SVG from src/api/ui served at `/` and `/ui/`, plus the pipeline's table
// declarations as JSON (the flows view's headings). The UI talks to the public API with the operator's token; nothing
// here needs one. Headers are set by this plugin's own hook, so /api/v1 and /docs keep theirs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { TABLES } from '../../pipeline/tables.js';
import { errorPayload } from '../errors.js';

/** No inline script or style, nothing from another origin, never framed. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The package root: the first directory above this module holding package.json. The same from src/api/routes (tsx)
 * and from dist/src/api/routes (after tsc), so the assets are read from src/api/ui in both cases (tsc copies no
 * non-TS files).
 */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(from)}`);
    dir = up;
  }
}

export function uiAssetDir(): string {
  return join(packageRoot(), 'src', 'api', 'ui');
}

/**
 * The headers of every successful answer of the UI's routes (the page, its assets, the table declarations, 304s),
 * set in one place: the plugin's onSend hook. Asset names carry no content hash, so the browser keeps them but asks
 * again (ETag / Last-Modified make that a 304).
 */
export const UI_HEADERS = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
} as const;

/** RFC 9239's type for JavaScript (send's table still says application/javascript). */
const JAVASCRIPT = 'text/javascript; charset=utf-8';

/** What the flows view shows above each table's rows: the declarations of src/pipeline/tables.ts. */
const pipelineTables = JSON.stringify({ tables: TABLES.map(({ id, name, purpose, miss }) => ({ id, name, purpose, miss })) });

export function uiRoutes(assetDir: string = uiAssetDir()) {
  return async (app: FastifyInstance): Promise<void> => {
    if (!existsSync(join(assetDir, 'index.html'))) {
      // An install without the assets (e.g. an image that copied only dist/) still serves the API; / says why.
      app.log.warn({ assetDir }, 'web UI assets not found: the UI is not served');
      app.get('/', { schema: { hide: true } }, async (req, reply) =>
        reply.status(404).send(errorPayload(req, 'ui_not_installed', `the web UI's assets are not installed (looked in ${assetDir}); the API is at /api/v1`)),
      );
      return;
    }
    const index = readFileSync(join(assetDir, 'index.html'));
    // Error answers (404, 403 for a directory) keep the API's plain JSON headers.
    app.addHook('onSend', async (_req, reply, payload) => {
      if (reply.statusCode >= 400) return payload;
      reply.headers(UI_HEADERS);
      if (String(reply.getHeader('content-type')).startsWith('application/javascript')) reply.type(JAVASCRIPT);
      return payload;
    });
    // cacheControl off: UI_HEADERS carries the one Cache-Control.
    await app.register(fastifyStatic, { root: assetDir, prefix: '/ui/', index: false, dotfiles: 'ignore', cacheControl: false });
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(index));
    app.get('/ui/pipeline-tables.json', { schema: { hide: true } }, async (_req, reply) => reply.type('application/json; charset=utf-8').send(pipelineTables));
  };
}
