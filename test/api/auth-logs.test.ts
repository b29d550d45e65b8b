// Bearer-token auth, the stored token, and structured logs with a request id on every line of a request.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiTokens, bearer } from '../../src/api/tokens.js';
import { openSqliteStore } from '../../src/topology/sqlite-store.js';
import { makeHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('auth', () => {
  it('/api/v1 needs the bearer token', async () => {
    h = await makeHarness();
    const none = await h.app.inject({ url: '/api/v1/nodes' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="minicloud"');
    expect(none.json().error).toMatchObject({ code: 'unauthorized', message: 'this API needs "Authorization: Bearer <token>"' });
    const wrong = await h.app.inject({ url: '/api/v1/nodes', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe('the bearer token is not valid');
    const post = await h.app.inject({ method: 'POST', url: '/api/v1/subnets', payload: { name: 'x' } });
    expect(post.statusCode).toBe(401);
    expect(h.service.listSubnets()).toEqual([]);
    expect((await h.call('GET', '/api/v1/nodes')).status).toBe(200);
  });

  it('auth: false serves without a token', async () => {
    h = await makeHarness({ auth: false });
    expect((await h.app.inject({ url: '/api/v1/nodes' })).statusCode).toBe(200);
    expect((await h.app.inject({ url: '/api/v1/whoami' })).json()).toEqual({ name: null, role: 'admin', auth: false });
  });

  it('the first admin token is made once; the store keeps only its hash', async () => {
    h = await makeHarness();
    const path = `${h.dir}/other.db`;
    const s1 = openSqliteStore(path);
    const first = await new ApiTokens(s1).ensureAdmin();
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^mc_[0-9a-f]{16}_[A-Za-z0-9_-]{32}$/);
    s1.close();
    const s2 = openSqliteStore(path);
    const again = new ApiTokens(s2);
    expect(await again.ensureAdmin()).toEqual({ created: false });
    expect(again.check(first.token!)).toEqual({ name: 'initial', role: 'admin' });
    s2.close();
  });

  it('bearer', () => {
    expect(bearer('Bearer abc')).toBe('abc');
    expect(bearer('bearer abc')).toBe('abc');
    expect(bearer('Bearer abc def')).toBeUndefined();
    expect(bearer('Basic abc')).toBeUndefined();
    expect(bearer('Bearer')).toBeUndefined();
    expect(bearer(undefined)).toBeUndefined();
  });
});

describe('logs', () => {
  it('every line logged during a request carries its request id; a sane X-Request-Id is kept', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    h = await makeHarness({ logger: pino({ level: 'info' }, sink) });
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/nodes',
      headers: { authorization: `Bearer ${h.token}`, 'x-request-id': 'req-abc.1' },
      payload: { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 1, memoryMiB: 1024 },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-request-id']).toBe('req-abc.1');
    const mine = lines.filter((l) => l.reqId === 'req-abc.1');
    expect(mine.map((l) => l.msg)).toEqual(['incoming request', 'node added', 'request completed']);
    expect(lines.every((l) => typeof l.reqId === 'string')).toBe(true);

    const odd = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'has spaces\nand newlines' } });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a 500 is logged with its details under the request id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    h = await makeHarness({ logger: pino({ level: 'info' }, sink) });
    h.service.listVms = () => {
      throw new Error('disk on fire');
    };
    const res = await h.call('GET', '/api/v1/vms');
    expect(res.status).toBe(500);
    const err = lines.find((l) => l.msg === 'internal error');
    expect(err?.reqId).toBe(res.json.error.requestId);
    expect(JSON.stringify(err)).toContain('disk on fire');
  });
});
