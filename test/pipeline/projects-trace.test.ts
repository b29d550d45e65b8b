// Two projects with the same addresses on real Open vSwitch (`ofproto/trace`, issue 22): the reference cloud with
// groups (the default project, routing domain 1) plus its twin `blue` (domain 2): subnets blue-a/blue-b with the same
// CIDRs, VMs x1/x2/y1/y2 with the same IPs as vm-a1/vm-a2/vm-b1/vm-b2 on the same nodes, in their own group, each with
// a transit address. Every packet of one project is traced through the nodes it crosses (routing, L2, ARP, broadcast,
// DHCP, security groups, the gateway) and no row it matches belongs to the other project: none with a cookie of the
// other's subnets, VMs or security rules. Prefix `mcpj-trace`.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCookie } from '../../src/pipeline/cookie.js';
import { PRIORITY, TABLE } from '../../src/pipeline/tables.js';
import { referenceCloudWithGroups } from '../../src/topology/examples.js';
import { GATEWAY_MAC, ipv4ToNumber, type Cloud, type SecurityGroup, type Vm } from '../../src/topology/model.js';
import { startPipelineLab, type PipelineLab } from '../helpers/pipeline-lab.js';
import { destinations, type Trace } from '../helpers/trace.js';

const canRun = process.getuid?.() === 0 && spawnSync('ovs-vswitchd', ['--version']).status === 0;

const C1 = '10.99.0.11';
const C2 = '10.99.0.12';
const GW = '10.99.0.21';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const OUTSIDE = '198.51.100.1';

/** Each project's VMs by role: the same IP on the same node, another MAC and port. */
const VM = {
  default: {
    a1: { ip: '192.168.20.10', mac: '02:00:00:00:0a:01', port: 'tap-a1' },
    a2: { ip: '192.168.20.11', mac: '02:00:00:00:0a:02', port: 'tap-a2' },
    b2: { ip: '192.168.20.41', mac: '02:00:00:00:0b:02', port: 'tap-b2' },
  },
  blue: {
    a1: { ip: '192.168.20.10', mac: '02:00:00:01:0a:01', port: 'tap-x1', transit: '100.64.0.2' },
    a2: { ip: '192.168.20.11', mac: '02:00:00:01:0a:02', port: 'tap-x2', transit: '100.64.0.3' },
    b2: { ip: '192.168.20.41', mac: '02:00:00:01:0b:02', port: 'tap-y2', transit: '100.64.0.5' },
  },
} as const;
type Project = keyof typeof VM;

/** What each project owns, by cookie: subnets by VNI, VMs by their cookie id, rules by group id. */
const OWNED: Record<Project, { vnis: number[]; vmIds: number[]; groups: number[] }> = {
  default: { vnis: [100, 101], vmIds: ['192.168.20.10', '192.168.20.11', '192.168.20.40', '192.168.20.41'].map(ipv4ToNumber), groups: [1, 2, 3] },
  blue: { vnis: [200, 201], vmIds: ['100.64.0.2', '100.64.0.3', '100.64.0.4', '100.64.0.5'].map(ipv4ToNumber), groups: [4] },
};

function twinCloud(): Cloud {
  const cloud = referenceCloudWithGroups();
  const blueVm = (name: string, subnet: string, node: string, v: { ip: string; mac: string; port: string; transit: string }): Vm => ({
    name,
    subnet,
    node,
    gateway: 'gateway-1',
    ip: v.ip,
    mac: v.mac,
    port: v.port,
    transitIp: v.transit,
    securityGroups: ['blue'],
  });
  const blue: SecurityGroup = {
    id: 4,
    name: 'blue',
    rules: [
      { id: 20, direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
      { id: 21, direction: 'ingress', protocol: 'any', remoteGroup: 'blue' },
      { id: 22, direction: 'ingress', protocol: 'tcp', portMin: 8000, portMax: 8010, remoteGroup: 'blue' },
    ],
  };
  return {
    ...cloud,
    subnets: [
      ...cloud.subnets.map((s) => ({ ...s, domain: 1 })),
      { name: 'blue-a', cidr: '192.168.20.0/27', gatewayIp: '192.168.20.1', vni: 200, domain: 2 },
      { name: 'blue-b', cidr: '192.168.20.32/27', gatewayIp: '192.168.20.33', vni: 201, domain: 2 },
    ],
    vms: [
      ...cloud.vms,
      blueVm('x1', 'blue-a', 'compute-1', VM.blue.a1),
      blueVm('x2', 'blue-a', 'compute-2', VM.blue.a2),
      blueVm('y1', 'blue-b', 'compute-1', { ip: '192.168.20.40', mac: '02:00:00:01:0b:01', port: 'tap-y1', transit: '100.64.0.4' }),
      blueVm('y2', 'blue-b', 'compute-2', VM.blue.b2),
    ],
    securityGroups: [...cloud.securityGroups!, blue],
  };
}

/** The rows of `t` that belong to project `p` (by their cookies). */
function rowsOf(t: Trace, p: Project): string[] {
  const own = OWNED[p];
  const out: string[] = [];
  for (const r of t.rows) {
    const c = describeCookie(r.cookie);
    if (!c) continue;
    const mine = (c.owner === 'subnet' && own.vnis.includes(c.id)) || (c.owner === 'vm' && own.vmIds.includes(c.id)) || (c.owner === 'rule' && own.groups.includes(c.group ?? -1));
    if (mine) out.push(`${r.table}/${r.priority} ${c.owner} ${c.id}`);
  }
  return out;
}

const other = (p: Project): Project => (p === 'default' ? 'blue' : 'default');

describe.skipIf(!canRun)('two projects with the same addresses (ofproto/trace, issue 22)', () => {
  let lab: PipelineLab;
  beforeAll(async () => {
    lab = await startPipelineLab('mcpj-trace', twinCloud(), { modes: { dhcp: 'controller', broadcast: 'head-end' } });
  }, 90_000);
  afterAll(async () => {
    await lab?.stop();
  });

  const fromVm = (p: Project, rest: string): string => `in_port=${VM[p].a1.port},dl_src=${VM[p].a1.mac},${rest}`;
  const icmpTo = (p: Project, dlDst: string, nwDst: string): string =>
    `icmp,${fromVm(p, `dl_dst=${dlDst},nw_src=${VM[p].a1.ip},nw_dst=${nwDst},nw_ttl=64,icmp_type=8,icmp_code=0`)}`;
  const vni = (p: Project, i: 0 | 1): number => OWNED[p].vnis[i]!;
  const summary: Record<string, string> = {};
  const traced = new Map<string, Trace>();

  for (const p of ['default', 'blue'] as const) {
    it(`${p}: routed to its own other subnet (same address in both), with its own VNI`, async () => {
      const t = await lab.trace('compute-1', icmpTo(p, GATEWAY_MAC, VM[p].b2.ip));
      expect(t.outputs.map((o) => o.tunnel)).toEqual([{ vni: vni(p, 1), dst: C2, src: C1 }]);
      expect(t.outputs[0]!.ethDst).toBe(VM[p].b2.mac);
      expect(rowsOf(t, other(p))).toEqual([]);
      traced.set(`${p} routed`, t);
    });

    it(`${p}: L2 to its twin on the other node, delivered there through its own rules only`, async () => {
      const t = await lab.trace('compute-1', icmpTo(p, VM[p].a2.mac, VM[p].a2.ip));
      expect(t.outputs.map((o) => o.tunnel)).toEqual([{ vni: vni(p, 0), dst: C2, src: C1 }]);
      expect(rowsOf(t, other(p))).toEqual([]);
      const there = await lab.trace(
        'compute-2',
        `icmp,in_port=${lab.vxlanInt('compute-2')},tun_id=${vni(p, 0)},tun_src=${C1},tun_dst=${C2},dl_src=${VM[p].a1.mac},dl_dst=${VM[p].a2.mac},nw_src=${VM[p].a1.ip},nw_dst=${VM[p].a2.ip},nw_ttl=64,icmp_type=8,icmp_code=0`,
        undefined,
        ['trk,new'],
      );
      expect(destinations(there)).toEqual([VM[p].a2.port]);
      expect(rowsOf(there, other(p))).toEqual([]);
      expect(there.rows.some((r) => r.table === TABLE.INGRESS_ACL && describeCookie(r.cookie)?.owner === 'rule')).toBe(true);
      traced.set(`${p} ingress`, there);
    });

    it(`${p}: ARP for the twin's address and the gateway's answered from its own project`, async () => {
      for (const [tpa, mac] of [
        [VM[p].a2.ip, VM[p].a2.mac],
        ['192.168.20.1', GATEWAY_MAC],
      ] as const) {
        const t = await lab.trace('compute-1', `arp,${fromVm(p, `dl_dst=${BCAST},arp_op=1,arp_sha=${VM[p].a1.mac},arp_spa=${VM[p].a1.ip},arp_tpa=${tpa}`)}`);
        expect(destinations(t)).toEqual([VM[p].a1.port]);
        expect(t.finalFlow.get('arp_sha')).toBe(mac);
        expect(rowsOf(t, other(p))).toEqual([]);
      }
    });

    it(`${p}: broadcast reaches its own subnet's other node only; DHCP goes to the controller from its own port`, async () => {
      const b = await lab.trace(
        'compute-1',
        `udp,${fromVm(p, `dl_dst=${BCAST},nw_src=${VM[p].a1.ip},nw_dst=192.168.20.31,nw_ttl=64,udp_src=40000,udp_dst=5353`)}`,
      );
      expect(b.outputs.map((o) => o.tunnel)).toEqual([{ vni: vni(p, 0), dst: C2, src: C1 }]);
      expect(rowsOf(b, other(p))).toEqual([]);
      const d = await lab.trace('compute-1', `udp,${fromVm(p, `dl_dst=${BCAST},nw_src=0.0.0.0,nw_dst=255.255.255.255,nw_ttl=64,udp_src=68,udp_dst=67`)}`);
      expect(d.datapathActions).toContain('userspace');
      expect(rowsOf(d, other(p))).toEqual([]);
    });

    it(`${p}: to the outside through the gateway, as its north-south address; the reply back to the right VM`, async () => {
      const out = await lab.trace(
        'gateway-1',
        `icmp,in_port=${lab.vxlanInt('gateway-1')},tun_id=${vni(p, 0)},tun_src=${C1},tun_dst=${GW},dl_src=${VM[p].a1.mac},dl_dst=${GATEWAY_MAC},nw_src=${VM[p].a1.ip},nw_dst=${OUTSIDE},nw_ttl=64,icmp_type=8,icmp_code=0`,
      );
      const ns = p === 'blue' ? VM.blue.a1.transit : VM.default.a1.ip;
      expect(destinations(out)).toEqual(['gateway-1']);
      expect(out.finalFlow.get('nw_src') ?? VM[p].a1.ip).toBe(ns);
      expect(rowsOf(out, other(p))).toEqual([]);
      const back = await lab.trace('gateway-1', `icmp,in_port=LOCAL,dl_src=${GATEWAY_MAC},dl_dst=${VM[p].a1.mac},nw_src=${OUTSIDE},nw_dst=${ns},nw_ttl=63,icmp_type=0,icmp_code=0`);
      expect(back.outputs.map((o) => o.tunnel)).toEqual([{ vni: vni(p, 0), dst: C1, src: GW }]);
      expect(back.outputs[0]!.ethDst).toBe(VM[p].a1.mac);
      expect(rowsOf(back, other(p))).toEqual([]);
      summary[`${p} north-south`] = `${VM[p].a1.ip} -> ${ns}`;
    });
  }

  it("blue's gateway IPs answer ICMP echo on the VM's own node; nothing else to its subnets leaves for the gateway", async () => {
    const echo = PRIORITY[TABLE.UNICAST].GATEWAY_ECHO;
    // Its own subnet's gateway IP and the other subnet's: the request comes back out of the VM's port as a reply.
    for (const gatewayIp of ['192.168.20.1', '192.168.20.33']) {
      const t = await lab.trace('compute-1', icmpTo('blue', GATEWAY_MAC, gatewayIp));
      expect(destinations(t), t.raw).toEqual([VM.blue.a1.port]);
      const f = t.finalFlow;
      expect([f.get('icmp_type'), f.get('nw_src'), f.get('nw_dst'), f.get('dl_src'), f.get('dl_dst')]).toEqual(['0', gatewayIp, VM.blue.a1.ip, GATEWAY_MAC, VM.blue.a1.mac]);
      expect(t.rows.some((r) => r.table === TABLE.UNICAST && r.priority === echo)).toBe(true);
      expect(rowsOf(t, 'default')).toEqual([]);
    }
    // Not an echo request, or to a free address of its subnets: dropped on its node (before, both left SNATed).
    for (const flowText of [
      `udp,${fromVm('blue', `dl_dst=${GATEWAY_MAC},nw_src=${VM.blue.a1.ip},nw_dst=192.168.20.1,nw_ttl=64,udp_src=40000,udp_dst=53`)}`,
      icmpTo('blue', GATEWAY_MAC, '192.168.20.20'),
      icmpTo('blue', GATEWAY_MAC, '192.168.20.50'),
    ]) {
      const t = await lab.trace('compute-1', flowText);
      expect(t.dropped, flowText).toBe(true);
      expect(t.rows.some((r) => r.table === TABLE.UNICAST && r.priority === PRIORITY[TABLE.UNICAST].DOMAIN_UNKNOWN)).toBe(true);
    }
    // The default project's gateway IP stays its gateways' kernel's: the echo goes there, as before.
    const d = await lab.trace('compute-1', icmpTo('default', GATEWAY_MAC, '192.168.20.1'));
    expect(destinations(d)).toEqual([`vxlan:${vni('default', 0)}@${GW}`]);
    expect(d.rows.some((r) => r.priority === echo && r.table === TABLE.UNICAST)).toBe(false);
    // The outside is still reached through the gateway.
    const out = await lab.trace('compute-1', icmpTo('blue', GATEWAY_MAC, OUTSIDE));
    expect(destinations(out)).toEqual([`vxlan:${vni('blue', 0)}@${GW}`]);
  });

  it('the gateway never hands its kernel a VM packet to a transit address, nor forwards a transit source back in', async () => {
    const toTransit = await lab.trace(
      'gateway-1',
      `icmp,in_port=${lab.vxlanInt('gateway-1')},tun_id=100,tun_src=${C1},tun_dst=${GW},dl_src=${VM.default.a1.mac},dl_dst=${GATEWAY_MAC},nw_src=${VM.default.a1.ip},nw_dst=${VM.blue.a2.transit},nw_ttl=64,icmp_type=8,icmp_code=0`,
    );
    expect(toTransit.dropped).toBe(true);
    expect(toTransit.rows.some((r) => r.table === TABLE.UNICAST && r.priority === PRIORITY[TABLE.UNICAST].TRANSIT_DROP)).toBe(true);
    const forwarded = await lab.trace(
      'gateway-1',
      `icmp,in_port=LOCAL,dl_src=${GATEWAY_MAC},dl_dst=${VM.default.a2.mac},nw_src=${VM.blue.a1.transit},nw_dst=${VM.default.a2.ip},nw_ttl=63,icmp_type=8,icmp_code=0`,
    );
    expect(forwarded.dropped).toBe(true);
    console.log('projects trace:', JSON.stringify(summary));
  });
});
