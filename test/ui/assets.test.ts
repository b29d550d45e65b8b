// The UI's static side without a browser: GET / is the page, its assets come with the right content types and
// headers (CSP, no-cache: the same for every kind of answer, and only on the UI's own), the table declarations match src/pipeline/tables.ts, and /api/v1 still needs the token.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { packageRoot, UI_CSP, UI_HEADERS, uiAssetDir, uiRoutes } from '../../src/api/routes/ui.js';
import { TABLES } from '../../src/pipeline/tables.js';
import { makeHarness, type Harness } from '../api/harness.js';

let hx: Harness;
beforeAll(async () => {
  hx = await makeHarness();
});
afterAll(async () => {
  await hx?.close();
});

const get = (url: string, headers: Record<string, string> = {}) => hx.app.inject({ method: 'GET', url, headers });

/** The UI's policy headers as a response carries them (undefined where missing). */
const policy = (headers: Record<string, unknown>) => Object.fromEntries(Object.keys(UI_HEADERS).map((k) => [k, headers[k]]));
const noPolicy = Object.fromEntries(Object.keys(UI_HEADERS).map((k) => [k, undefined]));

describe('the web UI assets', () => {
  it('finds the package root and the asset directory from the source tree', () => {
    expect(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).toContain('"name": "minicloud"');
    expect(uiAssetDir()).toBe(join(packageRoot(), 'src', 'api', 'ui'));
    // From a module two levels deeper (as dist/src/api/routes is), the same root.
    expect(packageRoot(new URL('../../dist/src/api/routes/ui.js', import.meta.url).href)).toBe(packageRoot());
  });

  // Its type and policy headers (CSP, no-cache, ...) are checked by the '/' row below.
  it('serves the page at / without a token: one module script, the theme before the stylesheet, nothing inline or remote', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<script type="module" src="/ui/js/main.js"></script>');
    // The theme is set by a classic (blocking) script in <head>, ahead of the stylesheet: before the first paint.
    const head = res.body.slice(0, res.body.indexOf('</head>'));
    expect(head).toContain('<script src="/ui/js/theme.js"></script>');
    expect(head.indexOf('/ui/js/theme.js')).toBeLessThan(head.indexOf('/ui/app.css'));
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=/);
    expect(res.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it('has one set of policy headers, with a CSP that allows nothing inline', () => {
    expect(UI_HEADERS).toEqual({
      'content-security-policy': UI_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cache-control': 'no-cache',
    });
    expect(UI_CSP).toMatch(/script-src 'self';/);
    expect(UI_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  });

  // One row per kind of answer: the page, static files of each type, the JSON route; GET and HEAD.
  it.each([
    ['/', 'text/html; charset=utf-8'],
    ['/ui/index.html', 'text/html; charset=utf-8'],
    ['/ui/app.css', 'text/css; charset=utf-8'],
    ['/ui/favicon.svg', 'image/svg+xml'],
    ['/ui/js/main.js', 'text/javascript; charset=utf-8'],
    ['/ui/js/theme.js', 'text/javascript; charset=utf-8'],
    ['/ui/js/topology.js', 'text/javascript; charset=utf-8'],
    ['/ui/js/flows.js', 'text/javascript; charset=utf-8'],
    ['/ui/pipeline-tables.json', 'application/json; charset=utf-8'],
  ])('serves %s as %s with the policy headers (GET and HEAD)', async (url, type) => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await hx.app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(200);
      expect(res.headers['content-type'], `${method} ${url}`).toBe(type);
      expect(policy(res.headers), `${method} ${url}`).toEqual(UI_HEADERS);
    }
  });

  it('answers a revalidation with 304 and the same policy headers', async () => {
    for (const url of ['/ui/app.css', '/ui/js/main.js']) {
      const etag = String((await get(url)).headers.etag);
      expect(etag).toMatch(/^(W\/)?"/);
      const again = await get(url, { 'if-none-match': etag });
      expect(again.statusCode, url).toBe(304);
      expect(again.body).toBe('');
      expect(policy(again.headers), url).toEqual(UI_HEADERS);
    }
  });

  it("keeps its headers to itself: errors under /ui/ and the other routes carry none of them", async () => {
    const cases = [['/ui/nope.js', 404], ['/ui/js/', 403], ['/healthz', 200], ['/docs/json', 200], ['/metrics', 200], ['/api/v1/nodes', 401], ['/nope', 404]] as const;
    for (const [url, code] of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(code);
      expect(policy(res.headers), url).toEqual(noPolicy);
    }
  });

  it('imports only modules it serves, by relative path', async () => {
    for (const file of ['main.js', 'theme.js', 'api.js', 'dom.js', 'flows.js', 'format.js', 'forms.js', 'overview.js', 'status.js', 'topology.js', 'projects.js', 'widgets.js']) {
      const body = (await get(`/ui/js/${file}`)).body;
      for (const m of body.matchAll(/^import .* from '([^']+)';$/gm)) {
        expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\/[a-z-]+\.js$/);
        expect((await get(`/ui/js/${m[1]!.slice(2)}`)).statusCode, m[1]).toBe(200);
      }
    }
  });

  it('publishes the pipeline tables the flows view uses as headings', async () => {
    const res = await get('/ui/pipeline-tables.json');
    expect(JSON.parse(res.body).tables).toEqual(TABLES.map(({ id, name, purpose, miss }) => ({ id, name, purpose, miss })));
  });

  it('refuses what is not an asset, and keeps /api/v1 behind the token', async () => {
    expect((await get('/ui/nope.js')).statusCode).toBe(404);
    expect((await get('/ui/../package.json')).statusCode).toBe(404);
    expect((await get('/ui/%2e%2e/package.json')).statusCode).not.toBe(200);
    expect((await get('/api/v1/nodes')).statusCode).toBe(401);
    expect((await hx.call('GET', '/api/v1/nodes')).status).toBe(200);
    // The UI's routes stay out of the OpenAPI document.
    const doc = JSON.parse((await get('/docs/json')).body) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/ui'))).toEqual([]);
  });

  it('without its assets, / says so and nothing else breaks', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mcu-noui-'));
    const app = Fastify();
    try {
      await app.register(uiRoutes(empty));
      app.get('/api/v1/ping', async () => ({ ok: true }));
      const res = await app.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({ code: 'ui_not_installed' });
      expect((await app.inject({ method: 'GET', url: '/api/v1/ping' })).statusCode).toBe(200);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
