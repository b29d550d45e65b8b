// Broadcast and multicast meet the receivers' ingress rules (issue 17), on real Open vSwitch with `ofproto/trace`:
// every delivery of a broadcast copy to a local VM (a local sender's copies in table 50, copies arriving from another
// node by head-end or through the switch node) goes through the receiver's ingress tables 30-32 in its own conntrack
// zone, so a receiver whose groups do not allow the packet does not get it while the others do, and the copies for
// other nodes still go out. ARP is not filtered by groups (port security governs it).
//
// The reference cloud with groups, plus vm-a3 (net-a, compute-1, `default` only): on compute-1, net-a has vm-a1
// (web: icmp from 192.168.20.0/24, tcp 80, tcp 8000-8010 from web) and vm-a3 (default: anything from default's
// members); vm-a2 (web) is on compute-2. Prefix `mcdh-trace`.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieFor, cookieForRule } from '../../src/pipeline/cookie.js';
import { PRIORITY, TABLE } from '../../src/pipeline/tables.js';
import { referenceCloudWithGroups } from '../../src/topology/examples.js';
import { ipv4ToNumber, type Cloud } from '../../src/topology/model.js';
import { startPipelineLab, type PipelineLab } from '../helpers/pipeline-lab.js';
import { destinations, type Trace } from '../helpers/trace.js';

const canRun = process.getuid?.() === 0 && spawnSync('ovs-vswitchd', ['--version']).status === 0;

const MAC = { a1: '02:00:00:00:0a:01', a2: '02:00:00:00:0a:02', a3: '02:00:00:00:0a:03', b1: '02:00:00:00:0b:01', b2: '02:00:00:00:0b:02' };
const IP = { a1: '192.168.20.10', a2: '192.168.20.11', a3: '192.168.20.12', b1: '192.168.20.40', b2: '192.168.20.41' };
const BCAST = 'ff:ff:ff:ff:ff:ff';
const NET_A_BCAST = '192.168.20.31';
const C1 = '10.99.0.11';
const C2 = '10.99.0.12';
const SWITCH = '10.99.0.31';
const GROUP = { default: 1, web: 2, db: 3 };

const vm = (name: keyof typeof IP) => cookieFor('vm', ipv4ToNumber(IP[name]), 'sg');
const rule = (group: number, id: number) => cookieForRule(group, id);
const hit = (t: Trace, table: number, priority: number, cookie?: bigint): boolean =>
  t.rows.some((r) => r.table === table && r.priority === priority && (cookie === undefined || r.cookie === cookie));
const P31 = PRIORITY[TABLE.INGRESS_ACL];

function cloudWithA3(): Cloud {
  const cloud = referenceCloudWithGroups();
  const a1 = cloud.vms.find((v) => v.name === 'vm-a1')!;
  return { ...cloud, vms: [...cloud.vms, { ...a1, name: 'vm-a3', ip: IP.a3, mac: MAC.a3, port: 'tap-a3', securityGroups: ['default'] }] };
}

const udp = (port: string, src: keyof typeof IP, dst: string, tpDst: number): string =>
  `udp,in_port=${port},dl_src=${MAC[src]},dl_dst=${BCAST},nw_src=${IP[src]},nw_dst=${dst},nw_ttl=64,udp_src=40000,udp_dst=${tpDst}`;
const icmp = (port: string, src: keyof typeof IP, dst: string): string =>
  `icmp,in_port=${port},dl_src=${MAC[src]},dl_dst=${BCAST},nw_src=${IP[src]},nw_dst=${dst},nw_ttl=64,icmp_type=8,icmp_code=0`;
const arp = (port: string, src: keyof typeof IP, tpa: string): string =>
  `arp,in_port=${port},dl_src=${MAC[src]},dl_dst=${BCAST},arp_op=1,arp_sha=${MAC[src]},arp_spa=${IP[src]},arp_tpa=${tpa}`;

for (const broadcast of ['head-end', 'switch-node'] as const) {
  describe.skipIf(!canRun)(`broadcast meets the receivers' ingress rules (${broadcast}, ofproto/trace)`, () => {
    let lab: PipelineLab;
    beforeAll(async () => {
      lab = await startPipelineLab(`mcdh-trace-${broadcast === 'head-end' ? 'he' : 'sw'}`, cloudWithA3(), { modes: { dhcp: 'controller', broadcast } });
    }, 90_000);
    afterAll(async () => {
      await lab?.stop();
    });

    /** A frame arriving at compute-1 from compute-2's vm-a2: through vxlan-int (head-end) or vxlan-sw (switch node). */
    const fromA2 = (rest: string): string => {
      const port = broadcast === 'head-end' ? lab.vxlanInt('compute-1') : lab.vxlanSw('compute-1');
      return `${rest.replace(/in_port=[^,]+/, `in_port=${port}`)},tun_id=100,tun_src=${broadcast === 'head-end' ? C2 : SWITCH},tun_dst=${C1}`;
    };
    const remoteCopy = broadcast === 'head-end' ? `vxlan:100@${C2}` : `vxlan:100@${SWITCH}`;

    it('from another node: each local receiver gets its own verdict in its own zone (icmp: web allows it, default does not)', async () => {
      const t = await lab.trace('compute-1', fromA2(icmp('x', 'a2', NET_A_BCAST)), undefined, ['trk,new', 'trk,new']);
      expect(destinations(t)).toEqual(['tap-a1']);
      expect(hit(t, TABLE.BROADCAST, PRIORITY[TABLE.BROADCAST].TUNNEL_DELIVER)).toBe(true);
      expect(hit(t, TABLE.INGRESS_ACL, P31.RULE, rule(GROUP.web, 6))).toBe(true);
      expect(hit(t, TABLE.INGRESS_ACL, P31.DENIED, vm('a3'))).toBe(true);
      const ports = lab.ports.get('compute-1')!;
      expect(t.datapathActions).toMatch(new RegExp(`ct\\(zone=${ports.get('tap-a1')}\\).*ct\\(zone=${ports.get('tap-a3')}\\)`));
    });

    it('from another node: udp that no receiver allows reaches none of them', async () => {
      const t = await lab.trace('compute-1', fromA2(udp('x', 'a2', NET_A_BCAST, 5353)), undefined, ['trk,new', 'trk,new']);
      expect(t.dropped).toBe(true);
      expect(hit(t, TABLE.INGRESS_ACL, P31.DENIED, vm('a1'))).toBe(true);
      expect(hit(t, TABLE.INGRESS_ACL, P31.DENIED, vm('a3'))).toBe(true);
    });

    it('from a local VM: the local copies are filtered per receiver and the copy for the other node still goes out', async () => {
      // vm-a3 (default) to net-a's broadcast: vm-a1 (web) takes no udp; compute-2's vm-a2 decides on its own node.
      const refused = await lab.trace('compute-1', udp('tap-a3', 'a3', NET_A_BCAST, 9999), undefined, ['trk,new', 'trk,new']);
      expect(destinations(refused)).toEqual([remoteCopy]);
      expect(hit(refused, TABLE.EGRESS_ACL, PRIORITY[TABLE.EGRESS_ACL].RULE, rule(GROUP.default, 1))).toBe(true);
      expect(hit(refused, TABLE.INGRESS_ACL, P31.DENIED, vm('a1'))).toBe(true);
      // vm-a1 pings the broadcast: web lets icmp out; vm-a3 (default) does not take it from a non-member.
      const ping = await lab.trace('compute-1', icmp('tap-a1', 'a1', NET_A_BCAST), undefined, ['trk,new', 'trk,new']);
      expect(destinations(ping)).toEqual([remoteCopy]);
      expect(hit(ping, TABLE.INGRESS_ACL, P31.DENIED, vm('a3'))).toBe(true);
      // A reply-direction packet of a connection the receiver opened passes as any reply does.
      const reply = await lab.trace('compute-1', udp('tap-a3', 'a3', NET_A_BCAST, 9999), undefined, ['trk,new', 'trk,est,rpl']);
      expect(destinations(reply)).toEqual(['tap-a1', remoteCopy].sort());
      expect(hit(reply, TABLE.INGRESS_ACL, P31.REPLY)).toBe(true);
    });

    it("each receiver's own rules decide, on either node: db refuses udp on net-b's broadcast, web on compute-2 takes icmp", async () => {
      // vm-b2 (default, web) on compute-2 to net-b's broadcast: vm-b1 (db) takes only tcp 5432 from web: refused.
      const toDb = await lab.trace(
        'compute-1',
        `${udp('x', 'b2', '192.168.20.63', 53).replace(/in_port=[^,]+/, `in_port=${broadcast === 'head-end' ? lab.vxlanInt('compute-1') : lab.vxlanSw('compute-1')}`)},tun_id=101,tun_src=${broadcast === 'head-end' ? C2 : SWITCH},tun_dst=${C1}`,
        undefined,
        ['trk,new'],
      );
      expect(toDb.dropped).toBe(true);
      expect(hit(toDb, TABLE.INGRESS_ACL, P31.DENIED, vm('b1'))).toBe(true);
      // vm-a3's broadcast arrives at compute-2's vm-a2 (web): tcp 8000 from a non-member refused, icmp from the subnet allowed.
      const arrive = (rest: string): string =>
        `${rest.replace(/in_port=[^,]+/, `in_port=${broadcast === 'head-end' ? lab.vxlanInt('compute-2') : lab.vxlanSw('compute-2')}`)},tun_id=100,tun_src=${broadcast === 'head-end' ? C1 : SWITCH},tun_dst=${C2}`;
      const allowed = await lab.trace('compute-2', arrive(icmp('x', 'a3', NET_A_BCAST)), undefined, ['trk,new']);
      expect(destinations(allowed)).toEqual(['tap-a2']);
      expect(hit(allowed, TABLE.INGRESS_ACL, P31.RULE, rule(GROUP.web, 6))).toBe(true);
    });

    it('ARP broadcast is not filtered by groups: every other VM of the subnet gets it (table 30 -> 32)', async () => {
      const local = await lab.trace('compute-1', arp('tap-a3', 'a3', '192.168.20.29'));
      expect(destinations(local)).toEqual(['tap-a1', remoteCopy].sort());
      expect(hit(local, TABLE.INGRESS_CT, PRIORITY[TABLE.INGRESS_CT].OTHER)).toBe(true);
      const remote = await lab.trace('compute-1', fromA2(arp('x', 'a2', '192.168.20.29')));
      expect(destinations(remote)).toEqual(['tap-a1', 'tap-a3']);
    });

    it('the only resubmit is resubmit(,30), which keeps in_port: nothing can loop back to the sender', async () => {
      const text = await lab.ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', 'compute-1');
      const resubmits = [...text.matchAll(/resubmit\([^)]*\)/g)].map((m) => m[0]);
      expect(resubmits.length).toBeGreaterThan(0);
      expect(new Set(resubmits)).toEqual(new Set(['resubmit(,30)']));
    });
  });
}
