// API tokens: named, admin or viewer, stored as hashes; managed at /api/v1/tokens by admins; the v1 token migrated.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiTokens, MAX_TOKENS, hashToken } from '../../src/api/tokens.js';
import { MIGRATIONS } from '../../src/topology/migrations/index.js';
import { openSqliteStore } from '../../src/topology/sqlite-store.js';
import { makeHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every byte of a store's files (the database and its WAL), to look for a secret in. */
function storeBytes(path: string): string {
  return ['', '-wal'].map((suffix) => {
    try {
      return readFileSync(path + suffix).toString('latin1');
    } catch {
      return '';
    }
  }).join('');
}

describe('/api/v1/tokens', () => {
  it('an admin creates a viewer token: the secret once, then only name, role and times', async () => {
    h = await makeHarness();
    const created = await h.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: as(h.token), payload: { name: 'grafana', role: 'viewer' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const { token, info } = created.json();
    expect(token).toMatch(/^mc_[0-9a-f]{16}_[A-Za-z0-9_-]{32}$/);
    expect(info).toMatchObject({ name: 'grafana', role: 'viewer' });

    const list = await h.app.inject({ url: '/api/v1/tokens', headers: as(h.token) });
    expect(list.statusCode).toBe(200);
    expect(list.json().tokens.map((t: { name: string; role: string }) => [t.name, t.role])).toEqual([['grafana', 'viewer'], ['initial', 'admin']]);
    for (const t of list.json().tokens) expect(Object.keys(t).sort()).toEqual(expect.arrayContaining(['createdAt', 'name', 'role']));
    expect(list.body).not.toContain(token.slice(20));
    expect(list.body).not.toContain(hashToken(token));
    expect(list.body).not.toContain('hash');
  });

  it('a viewer reads everything but tokens, and every write is 403 with a clear message', async () => {
    h = await makeHarness();
    await h.call('POST', '/api/v1/subnets', { name: 'net-a' });
    const viewer = (await h.tokens.create('ro', 'viewer')).token;
    for (const url of ['/api/v1/nodes', '/api/v1/subnets', '/api/v1/subnets/net-a', '/api/v1/vms', '/api/v1/datapaths']) {
      expect((await h.app.inject({ url, headers: as(viewer) })).statusCode, url).toBe(200);
      expect((await h.app.inject({ method: 'HEAD', url, headers: as(viewer) })).statusCode, url).toBe(200);
    }
    const writes = [
      ['POST', '/api/v1/subnets', { name: 'net-b' }],
      ['DELETE', '/api/v1/subnets/net-a', undefined],
      ['POST', '/api/v1/nodes', { name: 'x', roles: ['switch'], underlayIp: '10.0.0.9' }],
      ['POST', '/api/v1/tokens', { name: 'mine', role: 'admin' }],
      ['DELETE', '/api/v1/tokens/initial', undefined],
      ['GET', '/api/v1/tokens', undefined],
    ] as const;
    for (const [method, url, payload] of writes) {
      const res = await h.app.inject({ method, url, headers: as(viewer), ...(payload && { payload }) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error).toMatchObject({ code: 'forbidden', message: `token 'ro' is a viewer token: ${method} needs an admin token` });
    }
    expect(h.service.listSubnets().map((s) => s.name)).toEqual(['net-a']);
    expect(h.tokens.list().map((t) => t.name)).toEqual(['initial', 'ro']);
  });

  it('GET /api/v1/whoami says whose token it is', async () => {
    h = await makeHarness();
    const viewer = (await h.tokens.create('ro', 'viewer')).token;
    expect((await h.app.inject({ url: '/api/v1/whoami', headers: as(viewer) })).json()).toEqual({ name: 'ro', role: 'viewer', auth: true });
    expect((await h.call('GET', '/api/v1/whoami')).json).toEqual({ name: 'initial', role: 'admin', auth: true });
    expect((await h.app.inject({ url: '/api/v1/whoami' })).statusCode).toBe(401);
  });

  it('revoking is immediate; the last admin token cannot be revoked', async () => {
    h = await makeHarness();
    const viewer = (await h.tokens.create('ro', 'viewer')).token;
    expect((await h.app.inject({ url: '/api/v1/nodes', headers: as(viewer) })).statusCode).toBe(200);
    expect((await h.call('DELETE', '/api/v1/tokens/ro')).json).toEqual({ revoked: 'ro' });
    expect((await h.app.inject({ url: '/api/v1/nodes', headers: as(viewer) })).statusCode).toBe(401);
    expect((await h.call('DELETE', '/api/v1/tokens/ro')).status).toBe(404);

    const last = await h.call('DELETE', '/api/v1/tokens/initial');
    expect(last.status).toBe(409);
    expect(last.json.error.message).toBe("'initial' is the last admin token: create another admin token before revoking it");
    const second = (await h.call('POST', '/api/v1/tokens', { name: 'ops', role: 'admin' })).json.token as string;
    expect((await h.call('DELETE', '/api/v1/tokens/initial')).status).toBe(200);
    expect((await h.call('GET', '/api/v1/nodes')).status).toBe(401);
    expect((await h.app.inject({ url: '/api/v1/tokens', headers: as(second) })).json().tokens.map((t: { name: string }) => t.name)).toEqual(['ops']);
  });

  it('names are checked, unique and bounded in number', async () => {
    h = await makeHarness();
    for (const name of ['', 'a b', '-x', 'x'.repeat(64), 'a/b', 'é']) {
      const res = await h.call('POST', '/api/v1/tokens', { name });
      expect(res.status, name).toBe(400);
      expect(res.json.error.field).toBe('name');
    }
    expect((await h.call('POST', '/api/v1/tokens', { name: 'ci', role: 'root' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/tokens', { name: 'ci', extra: 1 })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/tokens', { name: 'ci' })).json.info.role).toBe('viewer');
    const again = await h.call('POST', '/api/v1/tokens', { name: 'ci' });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toBe("name: a token named 'ci' exists (revoke it first)");
    for (let i = h.tokens.list().length; i < MAX_TOKENS; i++) await h.tokens.create(`t${i}`, 'viewer');
    const full = await h.call('POST', '/api/v1/tokens', { name: 'one-more' });
    expect(full.status).toBe(409);
    expect(full.json.error.message).toBe(`there are ${MAX_TOKENS} tokens already: revoke unused ones first`);
  });
});

describe('ApiTokens', () => {
  it('tells a token from a forgery of its id or secret', async () => {
    const store = openSqliteStore(':memory:');
    const tokens = new ApiTokens(store);
    const { token } = await tokens.create('a', 'admin');
    expect(tokens.check(token)).toEqual({ name: 'a', role: 'admin' });
    const flip = (i: number) => token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
    expect(tokens.check(flip(5))).toBeUndefined(); // the id
    expect(tokens.check(flip(token.length - 1))).toBeUndefined(); // the secret
    expect(tokens.check(`${token}x`)).toBeUndefined();
    expect(tokens.check('x'.repeat(10_000))).toBeUndefined();
    expect(tokens.verify(`Bearer ${token}`)).toEqual({ name: 'a', role: 'admin' });
    expect(tokens.verify(`Basic ${token}`)).toBeUndefined();
    store.close();
  });

  it('writes the last-used time at most once a minute per token', async () => {
    const store = openSqliteStore(':memory:');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const tokens = new ApiTokens(store, { now: () => new Date(now) });
    const { token } = await tokens.create('a', 'viewer');
    expect(tokens.list()[0]!.lastUsedAt).toBeUndefined();
    tokens.check(token);
    expect(tokens.list()[0]!.lastUsedAt).toBe('2026-01-01T00:00:00.000Z');
    now += 59_000;
    tokens.check(token);
    expect(tokens.list()[0]!.lastUsedAt).toBe('2026-01-01T00:00:00.000Z');
    now += 2_000;
    tokens.check(token);
    expect(tokens.list()[0]!.lastUsedAt).toBe('2026-01-01T00:01:01.000Z');
    // A token's use is not a change of the cloud.
    expect(store.read((r) => r.revision())).toBe(0);
    store.close();
  });

  it('a new admin token is made at start only when the store has none', async () => {
    const store = openSqliteStore(':memory:');
    const tokens = new ApiTokens(store);
    await tokens.create('initial', 'viewer');
    const made = await tokens.ensureAdmin();
    expect(made.created).toBe(true);
    expect(tokens.list().map((t) => [t.name, t.role])).toEqual([['initial', 'viewer'], ['initial-2', 'admin']]);
    expect(await tokens.ensureAdmin()).toEqual({ created: false });
    store.close();
  });
});

describe('migration v2', () => {
  it("turns v1's plaintext token into the hashed admin token 'initial', which keeps working", async () => {
    h = await makeHarness();
    const path = `${h.dir}/v1.db`;
    const v1 = openSqliteStore(path, { migrations: MIGRATIONS.filter((m) => m.version === 1) });
    const legacy = `mc_${'A'.repeat(20)}9zZ_-${'b'.repeat(7)}`;
    expect(legacy).toMatch(/^mc_[A-Za-z0-9_-]{32}$/);
    await v1.write((w) => w.setMeta('api_token', legacy));
    v1.close();
    expect(storeBytes(path)).toContain(legacy);

    const v2 = openSqliteStore(path);
    expect(v2.schemaVersion()).toBe(MIGRATIONS.at(-1)!.version);
    expect(v2.read((r) => r.getMeta('api_token'))).toBeUndefined();
    const tokens = new ApiTokens(v2);
    expect(tokens.list()).toMatchObject([{ name: 'initial', role: 'admin' }]);
    expect(tokens.check(legacy)).toEqual({ name: 'initial', role: 'admin' });
    expect(tokens.check(legacy.replace('b', 'c'))).toBeUndefined();
    expect(await tokens.ensureAdmin()).toEqual({ created: false });
    v2.close();
    expect(storeBytes(path)).not.toContain(legacy);
    expect(storeBytes(path)).toContain(hashToken(legacy));
  });

  it('a store holds no token secret, only hashes', async () => {
    h = await makeHarness();
    const path = `${h.dir}/s.db`;
    const store = openSqliteStore(path);
    const tokens = new ApiTokens(store);
    const secrets = [(await tokens.ensureAdmin()).token!, (await tokens.create('v', 'viewer')).token];
    store.close();
    const bytes = storeBytes(path);
    for (const s of secrets) {
      expect(bytes).not.toContain(s);
      expect(bytes).not.toContain(s.slice(20));
      expect(bytes).toContain(hashToken(s));
    }
  });
});
