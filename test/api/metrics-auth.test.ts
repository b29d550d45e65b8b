// /metrics behind a token (metrics.auth): a real HTTP request on loopback, any role's token will do.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.js';
import { rawRequest, requestText } from './raw-http.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function listen(metricsAuth: boolean): Promise<{ url: string; port: number }> {
  h = await makeHarness({ metricsAuth });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port };
}

describe('metrics.auth', () => {
  it('true: a scrape without a valid token is 401, any token (a viewer one) gets the metrics', async () => {
    const { url, port } = await listen(true);
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="minicloud"');
    expect(await none.text()).not.toContain('minicloud_api_request');
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer mc_wrong' } })).status).toBe(401);
    for (const target of ['/%6detrics', 'http://x/metrics', '/metrics?', '/metrics/']) {
      const raw = await rawRequest(port, requestText('GET', target));
      expect([401, 404], target).toContain(raw.status);
    }
    expect((await rawRequest(port, requestText('HEAD', '/metrics'))).status).toBe(401);

    const viewer = (await h!.tokens.create('prometheus', 'viewer')).token;
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toContain('# TYPE minicloud_api_request_duration_seconds histogram');
    // The health checks stay open.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('false: /metrics answers without a token, /api/v1 still needs one', async () => {
    const { url } = await listen(false);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/nodes`)).status).toBe(401);
  });
});
