// /api/v1/security-groups (+ rules) and a VM's groups, through app.inject with the real store and CloudService.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
  for (const n of SEED_NODES) expect((await h.call('POST', '/api/v1/nodes', n)).status).toBe(201);
  expect((await h.call('POST', '/api/v1/subnets', { name: 'a' })).status).toBe(201);
});
afterEach(() => h.close());

const vm = (name: string, securityGroups?: string[]) => ({ name, subnet: 'a', flavor: 'small', image: 'images:debian/12', ...(securityGroups && { securityGroups }) });

describe('security groups API', () => {
  it('default exists with the usual rules; a new group starts with all egress; rules are added and deleted', async () => {
    const list = await h.call('GET', '/api/v1/security-groups');
    expect(list.status).toBe(200);
    expect(list.json.securityGroups.map((g: { name: string }) => g.name)).toEqual(['default']);
    expect(list.json.securityGroups[0].rules).toMatchObject([
      { direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
      { direction: 'ingress', protocol: 'any', remoteGroup: 'default' },
    ]);

    const web = await h.call('POST', '/api/v1/security-groups', { name: 'web', description: 'the web tier' });
    expect(web.status).toBe(201);
    expect(web.json.securityGroup).toMatchObject({ name: 'web', description: 'the web tier', members: [], rules: [{ direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' }] });
    expect((await h.call('POST', '/api/v1/security-groups', { name: 'web' })).status).toBe(409);

    const rule = await h.call('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80 });
    expect(rule.status).toBe(201);
    expect(rule.json.rule).toMatchObject({ direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteCidr: '0.0.0.0/0' });
    // The same rule again is refused, saying which rule already allows it.
    const dup = await h.call('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteCidr: '0.0.0.0/0' });
    expect(dup.status).toBe(409);
    expect(dup.json.error.message).toContain(`rule ${rule.json.rule.id} of 'web' already allows ingress tcp 80 from 0.0.0.0/0`);
    const fromDefault = await h.call('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'udp', portMin: 5000, portMax: 5010, remoteGroup: 'default' });
    expect(fromDefault.status).toBe(201);
    // ICMP rules may name a type and a code; echo request only, and "fragmentation needed" (3/4), are two rules.
    const echo = await h.call('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'icmp', icmpType: 8, remoteGroup: 'default' });
    expect(echo.status).toBe(201);
    expect(echo.json.rule).toMatchObject({ protocol: 'icmp', icmpType: 8, remoteGroup: 'default' });
    expect(echo.json.rule.icmpCode).toBeUndefined();
    const fragNeeded = await h.call('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'icmp', icmpType: 3, icmpCode: 4 });
    expect(fragNeeded.json.rule).toMatchObject({ icmpType: 3, icmpCode: 4, remoteCidr: '0.0.0.0/0' });
    expect((await h.call('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'icmp', icmpType: 3, icmpCode: 4 })).status).toBe(409);
    expect(h.network.lastCloud?.securityGroups?.find((g) => g.name === 'web')?.rules.find((r) => r.icmpType === 3)).toMatchObject({ icmpType: 3, icmpCode: 4 });
    const stored = (await h.call('GET', '/api/v1/security-groups/web')).json.securityGroup.rules;
    expect(stored).toEqual(expect.arrayContaining([expect.objectContaining({ icmpType: 8 }), expect.objectContaining({ icmpType: 3, icmpCode: 4 })]));
    for (const r of [echo, fragNeeded]) expect((await h.call('DELETE', `/api/v1/security-groups/web/rules/${r.json.rule.id}`)).status).toBe(200);

    expect((await h.call('DELETE', `/api/v1/security-groups/web/rules/${rule.json.rule.id}`)).status).toBe(200);
    expect((await h.call('DELETE', `/api/v1/security-groups/web/rules/${rule.json.rule.id}`)).status).toBe(404);
    expect((await h.call('GET', '/api/v1/security-groups/web')).json.securityGroup.rules).toHaveLength(2);
    // The network got the new model each time.
    expect(h.network.lastCloud?.securityGroups?.find((g) => g.name === 'web')?.rules).toHaveLength(2);
  });

  it('bad rules get a 400 saying what is wrong', async () => {
    await h.call('POST', '/api/v1/security-groups', { name: 'web' });
    const bad = async (body: object) => {
      const r = await h.call('POST', '/api/v1/security-groups/web/rules', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      return r.json.error.message as string;
    };
    expect(await bad({ direction: 'ingress', protocol: 'icmp', portMin: 22, portMax: 22 })).toMatch(/a port applies to tcp and udp only, not to 'icmp'/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', portMin: 90, portMax: 80 })).toMatch(/port range 90-80 is backwards/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', portMin: 22 })).toMatch(/both ends/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', remoteCidr: '10.0.0.1/8' })).toMatch(/host bits set/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', remoteCidr: 'ten.0.0.0/8' })).toMatch(/bad IPv4 address/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', remoteGroup: 'nope' })).toMatch(/remote group 'nope' does not exist/);
    expect(await bad({ direction: 'sideways', protocol: 'tcp' })).toMatch(/direction/);
    expect(await bad({ direction: 'ingress', protocol: 'gre' })).toMatch(/protocol/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', portMin: 0, portMax: 70000 })).toMatch(/port/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', remoteCidr: '10.0.0.0/8', remoteGroup: 'default' })).toMatch(/exactly one remote/);
    expect(await bad({ direction: 'ingress', protocol: 'tcp', icmpType: 8 })).toMatch(/an ICMP type or code applies to icmp only, not to 'tcp'/);
    expect(await bad({ direction: 'ingress', protocol: 'icmp', icmpCode: 4 })).toMatch(/an ICMP code needs a type/);
    expect(await bad({ direction: 'ingress', protocol: 'icmp', icmpType: 256 })).toMatch(/icmpType/);
    expect(await bad({ direction: 'ingress', protocol: 'icmp', icmpType: 3, icmpCode: -1 })).toMatch(/icmpCode/);
    expect(await bad({ direction: 'ingress', protocol: 'icmp', icmpType: 1.5 })).toMatch(/icmpType/);
    expect((await h.call('POST', '/api/v1/security-groups', { name: 'Web!' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/security-groups/nope/rules', { direction: 'ingress', protocol: 'tcp' })).status).toBe(404);
  });

  it('VMs: default unless given groups; groups set later; membership shown; groups in use cannot go', async () => {
    await h.call('POST', '/api/v1/security-groups', { name: 'web' });
    await h.call('POST', '/api/v1/security-groups', { name: 'db' });
    await h.call('POST', '/api/v1/security-groups/db/rules', { direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' });
    expect((await h.call('POST', '/api/v1/vms', vm('plain'))).json.vm.securityGroups).toEqual(['default']);
    expect((await h.call('POST', '/api/v1/vms', vm('web-1', ['web']))).json.vm.securityGroups).toEqual(['web']);
    const unknown = await h.call('POST', '/api/v1/vms', vm('x', ['nope']));
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ field: 'securityGroups', message: "securityGroups: no security group named 'nope'" });
    expect((await h.call('GET', '/api/v1/vms/x')).status).toBe(404); // nothing allocated

    const set = await h.call('PUT', '/api/v1/vms/plain/security-groups', { securityGroups: ['db', 'web'] });
    expect(set.status).toBe(200);
    expect(set.json.vm.securityGroups).toEqual(['db', 'web']);
    expect((await h.call('GET', '/api/v1/security-groups/web')).json.securityGroup.members).toEqual(['plain', 'web-1']);
    expect(h.network.lastCloud?.vms.find((v) => v.name === 'plain')?.securityGroups).toEqual(['db', 'web']);
    expect((await h.call('PUT', '/api/v1/vms/plain/security-groups', { securityGroups: ['nope'] })).status).toBe(400);
    expect((await h.call('PUT', '/api/v1/vms/ghost/security-groups', { securityGroups: [] })).status).toBe(404);

    const inUse = await h.call('DELETE', '/api/v1/security-groups/web');
    expect(inUse.status).toBe(409);
    expect(inUse.json.error.message).toMatch(/still has VMs \(plain, web-1\)/);
    await h.call('PUT', '/api/v1/vms/plain/security-groups', { securityGroups: [] });
    await h.call('DELETE', '/api/v1/vms/web-1');
    expect((await h.call('DELETE', '/api/v1/security-groups/web')).json.error.message).toMatch(/rules of 'db' name 'web'/);
    expect((await h.call('DELETE', '/api/v1/security-groups/default')).status).toBe(409);
    expect((await h.call('GET', '/api/v1/vms/plain')).json.vm.securityGroups).toEqual(['default']);
  });
});
