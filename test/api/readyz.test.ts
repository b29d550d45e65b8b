// What /readyz tells whom (docs/api.md): anyone (a load balancer, `curl` in the HA demo) gets status, pid and role,
// and for a failure a reason in fixed words; which controllers there are (their ids, often host names), the leader's
// generation and the failure's own words need a token for the whole cloud. A bad token or a project's token is no
// more than none; with auth off (loopback only) everything is shown.
import { afterEach, describe, expect, it } from 'vitest';
import type { Readiness } from '../../src/api/app.js';
import { makeHarness, type Harness } from './harness.js';

const LEADERSHIP = { role: 'follower', id: 'ctl-2.dc1.example.internal', leader: 'ctl-1.dc1.example.internal', generation: '8991806091952138' } as const;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function readyz(authorization?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await h!.app.inject({ url: '/readyz', ...(authorization !== undefined && { headers: { authorization } }) });
  return { status: res.statusCode, body: res.json() };
}

describe('/readyz', () => {
  it('without a cloud-wide token: status, pid and role only', async () => {
    h = await makeHarness({ ready: (): Readiness => ({ ready: true, leadership: LEADERSHIP }) });
    const member = await h.call('POST', '/api/v1/tokens', { name: 'tenant', role: 'viewer', project: 'default' });
    expect(member.status, JSON.stringify(member.json)).toBe(201);
    for (const auth of [undefined, 'Bearer nope', `Bearer ${h.token}x`, 'Basic YWRtaW46YWRtaW4=', `Bearer ${member.json.token}`]) {
      const r = await readyz(auth);
      expect(r.status).toBe(200);
      expect(r.body, String(auth)).toEqual({ status: 'ready', pid: process.pid, role: 'follower' });
    }
  });

  it('with a cloud-wide token (admin or viewer): which controller this is, who leads, the generation', async () => {
    h = await makeHarness({ ready: (): Readiness => ({ ready: true, leadership: LEADERSHIP }) });
    const viewer = await h.call('POST', '/api/v1/tokens', { name: 'ops', role: 'viewer' });
    for (const token of [h.token, viewer.json.token as string]) {
      expect((await readyz(`Bearer ${token}`)).body).toEqual({ status: 'ready', pid: process.pid, ...LEADERSHIP });
    }
  });

  it("a failure's own words only with a token; without one a fixed reason", async () => {
    const reason = 'store: SQLITE_CANTOPEN: unable to open /var/lib/minicloud/secret-name/cloud.db';
    h = await makeHarness({ ready: (): Readiness => ({ ready: false, reason, reasonClass: 'store unavailable', leadership: { ...LEADERSHIP, role: 'leader' } }) });
    const anonymous = await readyz();
    expect(anonymous).toEqual({ status: 503, body: { status: 'not ready', reason: 'store unavailable', pid: process.pid, role: 'leader' } });
    expect((await readyz(`Bearer ${h.token}`)).body).toMatchObject({ reason, id: LEADERSHIP.id, leader: LEADERSHIP.leader });
  });

  it('with auth off (loopback only) everything is shown', async () => {
    h = await makeHarness({ auth: false, ready: (): Readiness => ({ ready: true, leadership: LEADERSHIP }) });
    expect((await readyz()).body).toEqual({ status: 'ready', pid: process.pid, ...LEADERSHIP });
  });
});
