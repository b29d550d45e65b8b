import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/topology/migrations/index.js';
import type { VmRecord } from '../../src/topology/records.js';
import { toCloud } from '../../src/topology/records.js';
import { describeRule, portMasks, ruleProblems, securityGroupProblems } from '../../src/topology/security-groups.js';
import { openSqliteStore } from '../../src/topology/sqlite-store.js';
import { GATEWAY, NODE, SUBNET, VM, withoutProject } from '../helpers/store-records.js';

// Records without a project: the migration test writes them into a store from before projects (v5).
const { az: _az, ...node } = NODE;
const { serviceIp: _serviceIp, sshTarget: _sshTarget, ...gw } = GATEWAY;
const subnet = withoutProject(SUBNET);
const vm = (name: string, i: number, groups?: string[]): VmRecord => ({
  ...withoutProject(VM),
  name,
  memoryMiB: 512,
  image: 'img',
  ip: `192.168.20.${10 + i}`,
  mac: `02:00:00:00:00:${(10 + i).toString(16)}`,
  port: `mcvm${i}`,
  state: 'running',
  ...(groups && { securityGroups: groups }),
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'minicloud-sg-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('security group rules', () => {
  it('says what is wrong with a bad rule', () => {
    expect(ruleProblems({ direction: 'ingress', protocol: 'icmp', portMin: 22, portMax: 22, remoteCidr: '0.0.0.0/0' })).toEqual([
      "a port applies to tcp and udp only, not to 'icmp'",
    ]);
    expect(ruleProblems({ direction: 'ingress', protocol: 'tcp', portMin: 90, portMax: 80, remoteCidr: '10.0.0.1/8' })).toEqual([
      'port range 90-80 is backwards',
      "remote CIDR '10.0.0.1/8' has host bits set",
    ]);
    expect(ruleProblems({ direction: 'ingress', protocol: 'tcp', remoteGroup: 'nope' }, new Set(['default']))).toEqual(["remote group 'nope' does not exist"]);
    expect(ruleProblems({ direction: 'ingress', protocol: 'tcp' })).toEqual(['a rule needs exactly one remote: a CIDR or a group']);
    expect(ruleProblems({ direction: 'sideways' as never, protocol: 'tcp', portMin: 0, portMax: 70000, remoteCidr: '0.0.0.0/0' })).toHaveLength(3);
    expect(describeRule({ direction: 'ingress', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' })).toBe('ingress tcp 22 from 10.0.0.0/8');
    expect(ruleProblems({ direction: 'ingress', protocol: 'icmp', icmpType: 3, icmpCode: 4, remoteCidr: '0.0.0.0/0' })).toEqual([]);
    expect(ruleProblems({ direction: 'ingress', protocol: 'udp', icmpType: 3, remoteCidr: '0.0.0.0/0' })).toEqual(["an ICMP type or code applies to icmp only, not to 'udp'"]);
    expect(ruleProblems({ direction: 'ingress', protocol: 'icmp', icmpCode: 0, remoteCidr: '0.0.0.0/0' })).toEqual(['an ICMP code needs a type (icmpType)']);
    expect(ruleProblems({ direction: 'ingress', protocol: 'icmp', icmpType: 256, icmpCode: -1, remoteCidr: '0.0.0.0/0' })).toEqual([
      'ICMP type 256 out of range 0..255',
      'ICMP code -1 out of range 0..255',
    ]);
    expect(describeRule({ direction: 'ingress', protocol: 'icmp', icmpType: 8, remoteGroup: 'web' })).toBe('ingress icmp 8 from group web');
    expect(describeRule({ direction: 'egress', protocol: 'icmp', icmpType: 3, icmpCode: 4, remoteCidr: '0.0.0.0/0' })).toBe('egress icmp 3/4 to 0.0.0.0/0');
  });

  it('a port range becomes the fewest value/mask pairs that cover exactly it', () => {
    expect(portMasks(80, 80)).toEqual([{ value: 80, mask: 0xffff }]);
    expect(portMasks(1, 65535)).toHaveLength(16);
    expect(portMasks(1024, 65535)).toHaveLength(6);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 2000 }), (lo, span) => {
        const hi = Math.min(65535, lo + span);
        const masks = portMasks(lo, hi);
        expect(masks.length).toBeLessThanOrEqual(32);
        const covered = (p: number): number => masks.filter((m) => (p & m.mask) === m.value).length;
        for (const p of [lo - 1, lo, hi, hi + 1, Math.floor((lo + hi) / 2)]) {
          if (p < 0 || p > 65535) continue;
          expect(covered(p), `port ${p} in ${lo}-${hi}`).toBe(p >= lo && p <= hi ? 1 : 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('checks a cloud: unknown groups, duplicate ids, too many groups, no default', () => {
    const g = { id: 1, name: 'default', rules: [{ id: 1, direction: 'egress' as const, protocol: 'any' as const, remoteCidr: '0.0.0.0/0' }] };
    expect(securityGroupProblems([g], [{ name: 'v', securityGroups: ['web'] }])).toEqual(["VM 'v': unknown security group 'web'"]);
    expect(securityGroupProblems([g, { ...g, name: 'web' }], [])).toEqual(["security group 'web': duplicate id 1", "security group 'web': duplicate rule id 1"]);
    expect(securityGroupProblems([], [{ name: 'v' }])).toEqual(["VM 'v': no security group and no 'default' group"]);
  });
});

describe('security groups in the store', () => {
  it('migration v4 gives existing data the default group, and every existing VM joins it', () => {
    const path = join(dir, 'old.db');
    const old = openSqliteStore(path, { migrations: MIGRATIONS.filter((m) => m.version < 4) });
    old.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm('web-1', 1));
    });
    expect(old.read((r) => r.getVm({ name: 'web-1' }))?.securityGroups).toBeUndefined();
    old.close();
    const store = openSqliteStore(path);
    expect(store.read((r) => r.getVm({ name: 'web-1' }))?.securityGroups).toEqual(['default']);
    const def = store.read((r) => r.getSecurityGroup({ name: 'default' }))!;
    expect(def.rules.map(describeRule)).toEqual(['egress any to 0.0.0.0/0', 'ingress any from group default']);
    expect(toCloud(store.read((r) => r.records())).securityGroups).toEqual([
      {
        id: def.id,
        name: 'default',
        rules: [
          { id: def.rules[0]!.id, direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
          { id: def.rules[1]!.id, direction: 'ingress', protocol: 'any', remoteGroup: 'default' },
        ],
      },
    ]);
    expect(store.integrityCheck()).toEqual([]);
    store.close();
  });

  it('groups, rules and memberships: ids never reused, referenced groups kept, memberships go with the VM', async () => {
    const store = openSqliteStore(join(dir, 'sg.db'));
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
    });
    const web = await store.write((w) => w.insertSecurityGroup({ name: 'web', description: '', createdAt: 't' }));
    const db = await store.write((w) => w.insertSecurityGroup({ name: 'db', description: 'databases', createdAt: 't' }));
    expect(db).toBe(web + 1);
    const r1 = await store.write((w) => w.insertSecurityRule({ name: 'db' }, { direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' }, 't'));
    await store.write((w) => {
      w.insertVm(vm('web-1', 1, ['web']));
      w.insertVm(vm('db-1', 2, ['db', 'web']));
      w.insertVm(vm('other', 3));
    });
    expect(store.read((r) => r.listVms().map((v) => [v.name, v.securityGroups]))).toEqual([
      ['db-1', ['db', 'web']],
      ['other', ['default']],
      ['web-1', ['web']],
    ]);
    // A group a rule or a VM refers to stays.
    await expect(store.write((w) => w.deleteSecurityGroup({ name: 'web' }))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => w.setVmSecurityGroups({ name: 'db-1' }, ['db']));
    expect(store.read((r) => r.getVm({ name: 'db-1' }))?.securityGroups).toEqual(['db']);
    await store.write((w) => w.setVmSecurityGroups({ name: 'db-1' }, []));
    expect(store.read((r) => r.getVm({ name: 'db-1' }))?.securityGroups).toEqual(['default']);
    await store.write((w) => w.deleteVm({ name: 'web-1' }));
    expect(await store.write((w) => w.deleteSecurityRule({ name: 'db' }, r1))).toBe(true);
    expect(await store.write((w) => w.deleteSecurityRule({ name: 'db' }, r1))).toBe(false);
    expect(await store.write((w) => w.deleteSecurityGroup({ name: 'web' }))).toBe(true);
    const r2 = await store.write((w) => w.insertSecurityRule({ name: 'db' }, { direction: 'egress', protocol: 'udp', remoteCidr: '10.0.0.0/8' }, 't'));
    expect(r2).toBeGreaterThan(r1);
    // A bad rule never reaches the table.
    await expect(store.write((w) => w.insertSecurityRule({ name: 'db' }, { direction: 'egress', protocol: 'udp', portMin: 9, portMax: 1, remoteCidr: '0.0.0.0/0' }, 't'))).rejects.toThrow(
      /CHECK/,
    );
    expect(store.integrityCheck()).toEqual([]);
    store.close();
  });
});
