// The security-group stage's rows, compiled (no switch): what exists per VM, when a rule becomes a conjunction,
// merged and de-duplicated rows, cookies that name the group and rule, and changes that touch only what they must.
import { describe, expect, it } from 'vitest';
import type { FlowMod, FlowStats } from '../../src/openflow/index.js';
import { indexCloud, type CloudIndex } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { cookieForRule, describeCookie, OURS, OURS_MASK } from '../../src/pipeline/cookie.js';
import type { PortMap } from '../../src/pipeline/stage.js';
import { asInstalledStats, diffFlows, flowModCount, installedFromStats, type DesiredFlow, type FlowPlan, type Ownership } from '../../src/runtime/diff.js';
import { sgDrops } from '../../src/pipeline/sg-drops.js';
import { TABLE } from '../../src/pipeline/tables.js';
import { referenceCloud, referenceCloudWithGroups, referencePorts } from '../../src/topology/examples.js';
import type { Cloud, SecurityGroup } from '../../src/topology/model.js';
import { compileReference, grep, text } from './fixtures.js';

const SG_TABLES: readonly number[] = [TABLE.PORT_SECURITY, TABLE.EGRESS_ACL, TABLE.EGRESS_OUT, TABLE.INGRESS_CT, TABLE.INGRESS_ACL, TABLE.DELIVER];
const sgRows = (flows: readonly FlowMod[]) => flows.filter((f) => SG_TABLES.includes(f.tableId) && f.priority > 0);

const withGroups = (groups: SecurityGroup[], vmGroups: Record<string, string[]>): Cloud => {
  const c = referenceCloud();
  return { ...c, vms: c.vms.map((v) => ({ ...v, ...(vmGroups[v.name] && { securityGroups: vmGroups[v.name] }) })), securityGroups: groups };
};
const DEFAULT: SecurityGroup = {
  id: 1,
  name: 'default',
  rules: [
    { id: 1, direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
    { id: 2, direction: 'ingress', protocol: 'any', remoteGroup: 'default' },
  ],
};

describe('security-group stage (compiled rows)', () => {
  it('a cloud without security groups compiles as before: no row in tables 1-3 or 30-32 but the misses', () => {
    for (const flows of compileReference().flows.values()) expect(sgRows(flows)).toEqual([]);
  });

  it('default group: every VM on a node gets its port-security, ingress and delivery rows; ingress from each default member', () => {
    const c = compileReference(withGroups([DEFAULT], {}));
    const c1 = c.flows.get('compute-1')!;
    // vm-a1 (port 3) and vm-b1 (port 4) are on compute-1, 4 VMs are in default: "ingress from default" is 2 x 4
    // plain rows or 2 + 4 clause rows and a conj_id row; the conjunction is the smaller.
    expect(grep(c1, 'table:31 priority=10', 'conjunction(2,1/2)')).toHaveLength(2);
    expect(grep(c1, 'table:31 priority=10', 'conjunction(2,2/2)')).toHaveLength(4);
    expect(grep(c1, 'table:31 priority=10,conj_id=2')).toHaveLength(1);
    expect(grep(c1, 'table:2 priority=15', 'reg1=0x3')).toEqual([
      'table:2 priority=15,ct_state=-rpl+trk,ip,reg1=0x3,reg2=0x1 cookie:0x4d43470001000001 actions=ct(commit,zone=NXM_NX_REG1[0..15]),goto_table:3',
    ]);
    expect(text(c1).filter((t) => t.startsWith('priority=') && t.includes('in_port=3'))).toEqual([
      'priority=10,in_port=3,dl_src=02:00:00:00:0a:01 cookie:0x4d433200c0a8140a actions=set_field:0x64->tun_id,load:0x1->NXM_NX_REG2[],load:0x3->NXM_NX_REG1[],goto_table:1',
      'priority=5,in_port=3 cookie:0x4d433700c0a8140a actions=drop',
    ]);
    expect(grep(c1, 'table:10 priority=15', 'dl_dst=02:00:00:00:0a:01')[0]).toMatch(/load:0x3->NXM_NX_REG1\[\],goto_table:30$/);
    // Gateways, the switch and the DHCP node filter nothing: enforcement is on the VM's own node.
    for (const node of ['gateway-1', 'switch', 'dhcp']) expect(sgRows(c.flows.get(node)!)).toEqual([]);
  });

  it('a remote group with a port range becomes a conjunction when the product would be larger', () => {
    const c1 = compileReference(referenceCloudWithGroups()).flows.get('compute-1')!;
    const conj = grep(c1, 'table:31', 'conjunction(5,');
    // web has 3 members (one clause row each) and 8000-8010 is 3 port blocks: 6 clause rows + 1 conj_id row, not 9.
    expect(conj).toHaveLength(6);
    expect(grep(c1, 'table:31', 'conj_id=5')).toHaveLength(1);
    // db's 5432 from web (3 members x 1 port) stays plain rows.
    expect(grep(c1, 'table:31 priority=15', 'tp_dst=5432')).toHaveLength(3);
  });

  it('two rules with an identical clause row share it; two groups allowing the same thing give one row', () => {
    const groups: SecurityGroup[] = [
      DEFAULT,
      {
        id: 2,
        name: 'web',
        rules: [
          { id: 10, direction: 'ingress', protocol: 'tcp', portMin: 8000, portMax: 8010, remoteGroup: 'default' },
          { id: 11, direction: 'ingress', protocol: 'tcp', portMin: 9000, portMax: 9010, remoteGroup: 'default' },
          { id: 12, direction: 'ingress', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' },
        ],
      },
      { id: 3, name: 'ssh', rules: [{ id: 13, direction: 'ingress', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' }] },
    ];
    const c1 = compileReference(withGroups(groups, { 'vm-a1': ['default', 'ssh', 'web'] })).flows.get('compute-1')!;
    const shared = grep(c1, 'table:31 priority=10', 'reg1=0x3,reg2=0x1,nw_src=192.168.20.10 ');
    expect(shared).toHaveLength(1);
    expect(shared[0]).toMatch(/actions=conjunction\(10,1\/2\),conjunction\(11,1\/2\)$/);
    const ssh = grep(c1, 'table:31 priority=15', 'reg1=0x3', 'tp_dst=22');
    expect(ssh).toHaveLength(1);
    expect(describeCookie(BigInt(ssh[0]!.match(/cookie:(0x[0-9a-f]+)/)![1]!))).toEqual({ owner: 'rule', stage: 'sg', id: 12, group: 2 });
  });

  it('cookies name the group and the rule', () => {
    expect(describeCookie(cookieForRule(0xffff, 0xffffff))).toEqual({ owner: 'rule', stage: 'sg', id: 0xffffff, group: 0xffff });
    const c1 = compileReference(referenceCloudWithGroups()).flows.get('compute-1')!;
    for (const f of c1.filter((f) => f.priority === 15 || f.priority === 10)) {
      if (f.tableId !== TABLE.EGRESS_ACL && f.tableId !== TABLE.INGRESS_ACL) continue;
      expect(describeCookie(f.cookie)?.owner, text([f])[0]).toBe('rule');
    }
  });

  it('an empty remote group allows nothing, and a VM port not yet known gets no rows', () => {
    const groups: SecurityGroup[] = [DEFAULT, { id: 2, name: 'lonely', rules: [{ id: 5, direction: 'ingress', protocol: 'any', remoteGroup: 'nobody' }] }, { id: 3, name: 'nobody', rules: [] }];
    const c1 = compileReference(withGroups(groups, { 'vm-a1': ['lonely'] })).flows.get('compute-1')!;
    expect(grep(c1, 'reg1=0x3', 'table:31 priority=15')).toEqual([]);
    const cloud = referenceCloudWithGroups();
    const ports = referencePorts(cloud);
    ports.get('compute-1')!.delete('tap-a1');
    const without = compileReference(cloud, ports).flows.get('compute-1')!;
    expect(grep(without, 'in_port=3,')).toEqual([]);
  });

  it('rejects a VM in an unknown group or a rule naming one', () => {
    expect(() => indexCloud(withGroups([DEFAULT], { 'vm-a1': ['nope'] }))).toThrow(/unknown security group 'nope'/);
    expect(() => indexCloud(withGroups([{ ...DEFAULT, rules: [{ id: 1, direction: 'ingress', protocol: 'any', remoteGroup: 'x' }] }], {}))).toThrow(/remote group 'x' does not exist/);
  });
});

const own: Ownership = { cookie: OURS, cookieMask: OURS_MASK, takeOverTables: new Set() };
const asInstalled = (f: DesiredFlow): FlowStats => asInstalledStats(f, own);
const planSize = (plans: ReadonlyMap<string, FlowPlan>): number => [...plans.values()].reduce((n, p) => n + flowModCount(p), 0);

/** What the runtime's diff sends to take every node from `before` to `after` (nodes with nothing to send left out). */
function planBetween(before: CloudIndex, after: CloudIndex, ports: ReadonlyMap<string, PortMap>): Map<string, FlowPlan> {
  const old = compileCloud(before, ports);
  const out = new Map<string, FlowPlan>();
  for (const [node, flows] of compileCloud(after, ports)) {
    const plan = diffFlows(installedFromStats((old.get(node) ?? []).map(asInstalled)), flows, own);
    if (flowModCount(plan) > 0) out.set(node, plan);
  }
  return out;
}

describe('security-group changes are incremental', () => {
  const cloud = referenceCloudWithGroups();
  const ports = referencePorts(cloud);
  const before = indexCloud(cloud);

  it('a VM joining web adds its address to the rows of web rules on the nodes with web members, nothing else', () => {
    // vm-a3 on compute-2, in web: compute-1 gets its address in the web-from-web conjunction and db's 5432 rule.
    const a3 = { name: 'vm-a3', subnet: 'net-a', node: 'compute-2', gateway: 'gateway-1', ip: '192.168.20.12', mac: '02:00:00:00:0a:03', port: 'tap-a3', securityGroups: ['web'] };
    const index = indexCloud({ ...cloud, vms: [...cloud.vms, a3] });
    const withA3 = referencePorts(index.cloud);
    const plan = planBetween(before, index, withA3);
    const c1 = plan.get('compute-1')!;
    expect(c1.deletes).toEqual([]);
    expect(c1.modifies).toEqual([]);
    const added = text(c1.adds as FlowMod[]).filter((t) => t.includes('192.168.20.12') && (t.startsWith('table:31') || t.startsWith('table:2 ')));
    expect(added.map((t) => t.replace(/ cookie.*/, ''))).toEqual([
      'table:31 priority=15,ct_state=-rpl+trk,tcp,reg1=0x4,reg2=0x1,nw_src=192.168.20.12,tp_dst=5432',
      'table:31 priority=10,ct_state=-rpl+trk,tcp,reg1=0x3,reg2=0x1,nw_src=192.168.20.12',
    ]);
    // Removing it again takes back exactly as much.
    expect(planSize(planBetween(index, before, withA3))).toBe(planSize(plan));
  });

  it('adding a rule sends only its rows (on the nodes with members of its group)', () => {
    const next: Cloud = {
      ...cloud,
      securityGroups: cloud.securityGroups!.map((g) =>
        g.name === 'db' ? { ...g, rules: [...g.rules, { id: 10, direction: 'ingress', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' }] } : g,
      ),
    };
    const after = indexCloud(next);
    const plan = planBetween(before, after, ports);
    expect([...plan.keys()]).toEqual(['compute-1']); // vm-b1, db's only member
    expect(text(plan.get('compute-1')!.adds as FlowMod[]).map((t) => t.replace(/ actions.*/, ''))).toEqual([
      'table:31 priority=15,ct_state=-rpl+trk,tcp,reg1=0x4,reg2=0x1,nw_src=10.0.0.0/8,tp_dst=22 cookie:0x4d4347000300000a',
    ]);
    expect(plan.get('compute-1')!.deletes).toEqual([]);
  });
});

describe('security-group drop counters', () => {
  it('are the per-VM drop rows, summed per VM and reason; everything else is not a drop', () => {
    const c1 = compileReference(referenceCloudWithGroups()).flows.get('compute-1')!;
    const withCounts = c1.map((f, i) => ({ tableId: f.tableId, priority: f.priority, cookie: f.cookie, packets: i + 1 }));
    const drops = sgDrops(withCounts);
    const a1 = 0xc0a8140a; // vm-a1, 192.168.20.10
    expect(drops.filter((d) => d.vmIp === a1).map((d) => d.reason).sort()).toEqual(['egress_denied', 'ingress_denied', 'spoofed_address', 'spoofed_mac']);
    // spoofed_address is the sum of the IPv4 and ARP rows.
    const rows = withCounts.filter((f) => f.tableId === TABLE.PORT_SECURITY && f.priority === 30 && describeCookie(f.cookie)?.id === a1);
    expect(rows).toHaveLength(2);
    expect(drops.find((d) => d.vmIp === a1 && d.reason === 'spoofed_address')!.packets).toBe(rows[0]!.packets + rows[1]!.packets);
    expect(sgDrops(withCounts.filter((f) => describeCookie(f.cookie)?.stage !== 'sg'))).toEqual([]);
  });
});
