// The web UI: static ES modules, CSS and SVG from src/api/ui served at `/` and `/ui/`, plus the pipeline's table
// declarations as JSON (the flows view's headings). The UI talks to the public API with the operator's token; nothing
// here needs one. Headers are set only inside this plugin, so /api/v1 and /docs keep theirs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
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

function secure(reply: FastifyReply): void {
  reply.header('content-security-policy', UI_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
}

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
    await app.register(fastifyStatic, {
      root: assetDir,
      prefix: '/ui/',
      index: false,
      dotfiles: 'ignore',
      // Asset names carry no content hash: the browser keeps them but asks again (ETag / Last-Modified make it cheap).
      cacheControl: false,
      setHeaders: (reply: FastifyReply, path: string) => {
        secure(reply);
        reply.header('cache-control', 'no-cache');
        // RFC 9239's type for JavaScript (send's table still says application/javascript).
        if (path.endsWith('.js')) reply.header('content-type', 'text/javascript; charset=utf-8');
      },
    });
    app.get('/', { schema: { hide: true } }, async (_req, reply) => {
      secure(reply);
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
    });
    app.get('/ui/pipeline-tables.json', { schema: { hide: true } }, async (_req, reply) => {
      secure(reply);
      return reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8').send(pipelineTables);
    });
  };
}
