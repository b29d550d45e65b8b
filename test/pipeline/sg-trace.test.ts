// Security groups on real Open vSwitch: every row of tables 0-3 and 30-32 that the security-group stage makes,
// exercised with `ofproto/trace` (conntrack passes resumed with --ct-next) on the reference cloud with groups:
// compute-1 holds vm-a1 (web) and vm-b1 (db), compute-2 vm-a2 (web) and vm-b2 (default, web).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieFor, cookieForRule } from '../../src/pipeline/cookie.js';
import { PRIORITY, TABLE } from '../../src/pipeline/tables.js';
import { referenceCloudWithGroups } from '../../src/topology/examples.js';
import { GATEWAY_MAC, ipv4ToNumber } from '../../src/topology/model.js';
import { startPipelineLab, type PipelineLab } from '../helpers/pipeline-lab.js';
import { destinations, type Trace } from '../helpers/trace.js';

const canRun = process.getuid?.() === 0 && spawnSync('ovs-vswitchd', ['--version']).status === 0;

const MAC = { a1: '02:00:00:00:0a:01', a2: '02:00:00:00:0a:02', b1: '02:00:00:00:0b:01', b2: '02:00:00:00:0b:02' };
const IP = { a1: '192.168.20.10', a2: '192.168.20.11', b1: '192.168.20.40', b2: '192.168.20.41', gwA: '192.168.20.1' };
const GW = GATEWAY_MAC;
const BCAST = 'ff:ff:ff:ff:ff:ff';
const C1 = '10.99.0.11';
const C2 = '10.99.0.12';
const GW1 = '10.99.0.21';
const DHCP = '10.99.0.41';
const NEW = ['trk,new', 'trk,new'];
const REPLY = ['trk,est,rpl', 'trk,est,rpl'];
const ORIGINAL_EST = ['trk,est', 'trk,est'];

const vm = (name: keyof typeof IP) => cookieFor('vm', ipv4ToNumber(IP[name]), 'sg');
const rule = (group: number, id: number) => cookieForRule(group, id);
const GROUP = { default: 1, web: 2, db: 3 };

/** Did the packet go through (table, priority[, cookie])? */
const hit = (t: Trace, table: number, priority: number, cookie?: bigint): boolean =>
  t.rows.some((r) => r.table === table && r.priority === priority && (cookie === undefined || r.cookie === cookie));
/** The last row the packet matched (where it was dropped, for a dropped one). */
const last = (t: Trace) => t.rows.at(-1);

describe.skipIf(!canRun)('security groups on real OVS (ofproto/trace)', () => {
  let lab: PipelineLab;
  beforeAll(async () => {
    lab = await startPipelineLab('mcsg-trace', referenceCloudWithGroups());
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  const tcp = (port: string, src: string, dst: string, nwSrc: string, nwDst: string, tpDst: number, tpSrc = 40000): string =>
    `tcp,in_port=${port},dl_src=${src},dl_dst=${dst},nw_src=${nwSrc},nw_dst=${nwDst},nw_ttl=64,tp_src=${tpSrc},tp_dst=${tpDst}`;
  const fromTunnel = (node: string, vni: number, srcNode: string, dstNode: string, rest: string): string =>
    `${rest.replace(/in_port=[^,]+/, `in_port=${lab.vxlanInt(node)}`)},tun_id=${vni},tun_src=${srcNode},tun_dst=${dstNode}`;
  const P1 = PRIORITY[TABLE.PORT_SECURITY];
  const P2 = PRIORITY[TABLE.EGRESS_ACL];
  const P31 = PRIORITY[TABLE.INGRESS_ACL];

  describe('stateful rules', () => {
    it('allowed, same node, across subnets: egress rule, routed, ingress rule from a remote group, delivered', async () => {
      const t = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, 5432), undefined, NEW);
      expect(destinations(t)).toEqual(['tap-b1']);
      expect(hit(t, TABLE.CLASSIFY, PRIORITY[TABLE.CLASSIFY].UNICAST)).toBe(true);
      expect(hit(t, TABLE.PORT_SECURITY, P1.OWN_ADDRESS, vm('a1'))).toBe(true);
      expect(hit(t, TABLE.EGRESS_ACL, P2.RULE, rule(GROUP.web, 3))).toBe(true);
      expect(hit(t, TABLE.EGRESS_OUT, PRIORITY[TABLE.EGRESS_OUT].UNICAST)).toBe(true);
      expect(hit(t, TABLE.UNICAST, PRIORITY[TABLE.UNICAST].ROUTED)).toBe(true);
      expect(hit(t, TABLE.INGRESS_CT, PRIORITY[TABLE.INGRESS_CT].IPV4)).toBe(true);
      expect(hit(t, TABLE.INGRESS_ACL, P31.RULE, rule(GROUP.db, 8))).toBe(true);
      expect(hit(t, TABLE.DELIVER, PRIORITY[TABLE.DELIVER].VM, vm('b1'))).toBe(true);
      // One zone per VM port: the sender's on egress, the receiver's on ingress, each committed.
      const ports = lab.ports.get('compute-1')!;
      const [a1, b1] = [ports.get('tap-a1'), ports.get('tap-b1')];
      expect(t.datapathActions).toMatch(new RegExp(`ct\\(zone=${a1}\\).*ct\\(commit,zone=${a1}\\).*ct\\(zone=${b1}\\).*ct\\(commit,zone=${b1}\\)`));
    });

    it('denied: a port the receiver does not open is dropped by its own per-VM row', async () => {
      const t = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, 22), undefined, NEW);
      expect(t.dropped).toBe(true);
      expect(last(t)).toEqual({ table: TABLE.INGRESS_ACL, priority: P31.DENIED, cookie: vm('b1') });
    });

    it('the reply flows back (+est+rpl on both sides); the same packet as a new connection is refused by the egress rules', async () => {
      const reply = await lab.trace('compute-1', tcp('tap-b1', MAC.b1, GW, IP.b1, IP.a1, 40000, 5432), undefined, REPLY);
      expect(destinations(reply)).toEqual(['tap-a1']);
      expect(hit(reply, TABLE.EGRESS_ACL, P2.REPLY)).toBe(true);
      expect(hit(reply, TABLE.INGRESS_ACL, P31.REPLY)).toBe(true);
      const opened = await lab.trace('compute-1', tcp('tap-b1', MAC.b1, GW, IP.b1, IP.a1, 80), undefined, NEW);
      expect(opened.dropped).toBe(true);
      expect(last(opened)).toEqual({ table: TABLE.EGRESS_ACL, priority: P2.DENIED, cookie: vm('b1') });
    });

    it('more packets of an allowed connection are checked against the rules again (a removed rule stops them)', async () => {
      const t = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, 5432), undefined, ORIGINAL_EST);
      expect(destinations(t)).toEqual(['tap-b1']);
      expect(hit(t, TABLE.INGRESS_ACL, P31.RULE, rule(GROUP.db, 8))).toBe(true);
    });

    it('related packets (an ICMP error of a tracked connection) pass; invalid ones never do', async () => {
      const icmpError = `icmp,in_port=tap-b1,dl_src=${MAC.b1},dl_dst=${GW},nw_src=${IP.b1},nw_dst=${IP.a1},nw_ttl=64,icmp_type=3,icmp_code=3`;
      const rel = await lab.trace('compute-1', icmpError, undefined, ['trk,rel', 'trk,rel']);
      expect(destinations(rel)).toEqual(['tap-a1']);
      expect(hit(rel, TABLE.EGRESS_ACL, P2.REPLY)).toBe(true);
      expect(hit(rel, TABLE.INGRESS_ACL, P31.REPLY)).toBe(true);
      const inv = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, 5432), undefined, ['trk,inv']);
      expect(inv.dropped).toBe(true);
      expect(last(inv)).toMatchObject({ table: TABLE.EGRESS_ACL, priority: P2.INVALID });
      const invIn = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, 5432), undefined, ['trk,new', 'trk,inv']);
      expect(last(invIn)).toMatchObject({ table: TABLE.INGRESS_ACL, priority: P31.INVALID });
    });

    it('an ICMP rule with a type and code: echo requests (8/0) pass, other ICMP does not; the echo reply flows back', async () => {
      const icmp = (port: string, src: string, dst: string, nwSrc: string, nwDst: string, type: number, code = 0) =>
        `icmp,in_port=${port},dl_src=${src},dl_dst=${dst},nw_src=${nwSrc},nw_dst=${nwDst},nw_ttl=64,icmp_type=${type},icmp_code=${code}`;
      const echo = await lab.trace('compute-1', icmp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, 8), undefined, NEW);
      expect(destinations(echo)).toEqual(['tap-b1']);
      expect(hit(echo, TABLE.INGRESS_ACL, P31.RULE, rule(GROUP.db, 9))).toBe(true);
      expect(echo.raw).toMatch(/icmp_type=8,icmp_code=0/);
      for (const [type, code] of [[13, 0], [8, 1], [3, 4]] as const) {
        const other = await lab.trace('compute-1', icmp('tap-a1', MAC.a1, GW, IP.a1, IP.b1, type, code), undefined, NEW);
        expect(other.dropped, `${type}/${code}`).toBe(true);
        expect(last(other), `${type}/${code}`).toEqual({ table: TABLE.INGRESS_ACL, priority: P31.DENIED, cookie: vm('b1') });
      }
      // The reply (type 0) matches no rule of web's egress... it needs none: +est+rpl on both sides.
      const reply = await lab.trace('compute-1', icmp('tap-b1', MAC.b1, GW, IP.b1, IP.a1, 0), undefined, REPLY);
      expect(destinations(reply)).toEqual(['tap-a1']);
      expect(hit(reply, TABLE.EGRESS_ACL, P2.REPLY)).toBe(true);
      expect(hit(reply, TABLE.INGRESS_ACL, P31.REPLY)).toBe(true);
    });

    it('two nodes: a remote-group port range is a conjunctive match on the receiving node', async () => {
      const inRange = await lab.trace('compute-1', fromTunnel('compute-1', 100, C2, C1, tcp('x', MAC.a2, MAC.a1, IP.a2, IP.a1, 8005)), undefined, ['trk,new']);
      expect(destinations(inRange)).toEqual(['tap-a1']);
      expect(hit(inRange, TABLE.UNICAST, PRIORITY[TABLE.UNICAST].L2)).toBe(true);
      expect(hit(inRange, TABLE.INGRESS_ACL, P31.RULE_CONJ, rule(GROUP.web, 5))).toBe(true);
      expect(inRange.raw).toMatch(/conj_id=5/);
      const outOfRange = await lab.trace('compute-1', fromTunnel('compute-1', 100, C2, C1, tcp('x', MAC.a2, MAC.a1, IP.a2, IP.a1, 8011)), undefined, ['trk,new']);
      expect(outOfRange.dropped).toBe(true);
      expect(last(outOfRange)).toEqual({ table: TABLE.INGRESS_ACL, priority: P31.DENIED, cookie: vm('a1') });
      // vm-b2 is in web too (and default): a member; an address outside the group is not.
      const member = await lab.trace('compute-1', fromTunnel('compute-1', 100, C2, C1, tcp('x', GW, MAC.a1, IP.b2, IP.a1, 8000)), undefined, ['trk,new']);
      expect(destinations(member)).toEqual(['tap-a1']);
      const stranger = await lab.trace('compute-1', fromTunnel('compute-1', 100, GW1, C1, tcp('x', GW, MAC.a1, '198.51.100.7', IP.a1, 8000)), undefined, ['trk,new']);
      expect(stranger.dropped).toBe(true);
    });

    it('CIDR rules: tcp 80 from anywhere, ICMP only from 192.168.20.0/24', async () => {
      const web = await lab.trace('compute-1', fromTunnel('compute-1', 100, GW1, C1, tcp('x', GW, MAC.a1, '198.51.100.7', IP.a1, 80)), undefined, ['trk,new']);
      expect(destinations(web)).toEqual(['tap-a1']);
      expect(hit(web, TABLE.INGRESS_ACL, P31.RULE, rule(GROUP.web, 4))).toBe(true);
      const ping = (src: string) => fromTunnel('compute-1', 100, C2, C1, `icmp,in_port=x,dl_src=${GW},dl_dst=${MAC.a1},nw_src=${src},nw_dst=${IP.a1},nw_ttl=64,icmp_type=8,icmp_code=0`);
      expect(destinations(await lab.trace('compute-1', ping(IP.b2), undefined, ['trk,new']))).toEqual(['tap-a1']);
      expect((await lab.trace('compute-1', ping('10.9.9.9'), undefined, ['trk,new'])).dropped).toBe(true);
    });

    it('egress: web may go anywhere through its gateway; db only to udp 53', async () => {
      const out = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a1, '198.51.100.7', 443), undefined, NEW);
      expect(destinations(out)).toEqual([`vxlan:100@${GW1}`]);
      const dns = await lab.trace('compute-1', `udp,in_port=tap-b1,dl_src=${MAC.b1},dl_dst=${GW},nw_src=${IP.b1},nw_dst=198.51.100.53,nw_ttl=64,udp_src=5000,udp_dst=53`, undefined, NEW);
      expect(destinations(dns)).toEqual([`vxlan:101@${GW1}`]);
      expect(hit(dns, TABLE.EGRESS_ACL, P2.RULE, rule(GROUP.db, 7))).toBe(true);
      const https = await lab.trace('compute-1', tcp('tap-b1', MAC.b1, GW, IP.b1, '198.51.100.7', 443), undefined, NEW);
      expect(last(https)).toEqual({ table: TABLE.EGRESS_ACL, priority: P2.DENIED, cookie: vm('b1') });
    });
  });

  describe('port security', () => {
    it('a frame from another MAC is dropped by the VM port own row (table 0)', async () => {
      const t = await lab.trace('compute-1', tcp('tap-a1', '02:00:00:00:99:99', MAC.b1, IP.a1, IP.b1, 80));
      expect(last(t)).toEqual({ table: TABLE.CLASSIFY, priority: PRIORITY[TABLE.CLASSIFY].SPOOFED_MAC, cookie: vm('a1') });
      expect(t.dropped).toBe(true);
    });

    it('IPv4 from another source address is dropped and counted by the VM row', async () => {
      const t = await lab.trace('compute-1', tcp('tap-a1', MAC.a1, GW, IP.a2, IP.b1, 5432));
      expect(t.dropped).toBe(true);
      expect(last(t)).toEqual({ table: TABLE.PORT_SECURITY, priority: P1.SPOOFED, cookie: vm('a1') });
    });

    const arp = (op: number, sha: string, spa: string, tpa: string, dst = BCAST) =>
      `arp,in_port=tap-a1,dl_src=${MAC.a1},dl_dst=${dst},arp_op=${op},arp_sha=${sha},arp_spa=${spa},arp_tha=00:00:00:00:00:00,arp_tpa=${tpa}`;

    it('ARP: own spa/sha answered locally; another spa or sha dropped; a probe (spa 0.0.0.0) passes port security', async () => {
      const own = await lab.trace('compute-1', arp(1, MAC.a1, IP.a1, IP.a2));
      expect(destinations(own)).toEqual(['tap-a1']); // the ARP responder's answer
      expect(hit(own, TABLE.PORT_SECURITY, P1.OWN_ADDRESS, vm('a1'))).toBe(true);
      expect(hit(own, TABLE.EGRESS_OUT, PRIORITY[TABLE.EGRESS_OUT].MULTICAST)).toBe(true);
      for (const spoof of [arp(2, MAC.a1, IP.a2, IP.b1, MAC.b1), arp(1, MAC.a2, IP.a1, IP.a2)]) {
        const t = await lab.trace('compute-1', spoof);
        expect(t.dropped, spoof).toBe(true);
        expect(last(t), spoof).toEqual({ table: TABLE.PORT_SECURITY, priority: P1.SPOOFED, cookie: vm('a1') });
      }
      const probe = await lab.trace('compute-1', arp(1, MAC.a1, '0.0.0.0', IP.a1));
      expect(hit(probe, TABLE.PORT_SECURITY, P1.OWN_ADDRESS, vm('a1'))).toBe(true);
      expect(last(probe)).toMatchObject({ table: TABLE.BROADCAST, priority: PRIORITY[TABLE.BROADCAST].ARP_PROBE_DROP });
    });

    it('DHCP client traffic passes unfiltered: DISCOVER, rebinding broadcast, renewal to the server; other IPv4 broadcast meets the egress rules', async () => {
      const udp = (src: string, dst: string, dlDst: string, sport = 68, dport = 67) =>
        `udp,in_port=tap-b1,dl_src=${MAC.b1},dl_dst=${dlDst},nw_src=${src},nw_dst=${dst},nw_ttl=64,udp_src=${sport},udp_dst=${dport}`;
      for (const f of [udp('0.0.0.0', '255.255.255.255', BCAST), udp(IP.b1, '255.255.255.255', BCAST), udp(IP.b1, '192.168.20.33', GW)]) {
        const t = await lab.trace('compute-1', f);
        expect(hit(t, TABLE.PORT_SECURITY, P1.DHCP_CLIENT, vm('b1')), f).toBe(true);
        expect(destinations(t), f).toEqual([`vxlan:0@${DHCP}`].map((d) => d.replace(':0@', `:${destinations(t)[0]?.match(/vxlan:(\d+)@/)?.[1]}@`)));
        expect(t.raw, f).not.toMatch(/ct\(/); // never through conntrack or the rules
      }
      // db (vm-b1) may send udp 53 only: a broadcast to 5353 is refused by its egress rules, one to 53 goes out as broadcast.
      const mdns = await lab.trace('compute-1', udp(IP.b1, '255.255.255.255', BCAST, 5353, 5353), undefined, NEW);
      expect(last(mdns)).toEqual({ table: TABLE.EGRESS_ACL, priority: P2.DENIED, cookie: vm('b1') });
      expect(mdns.dropped).toBe(true);
      const dns = await lab.trace('compute-1', udp(IP.b1, '255.255.255.255', BCAST, 5353, 53), undefined, NEW);
      expect(hit(dns, TABLE.EGRESS_ACL, P2.RULE, rule(GROUP.db, 7))).toBe(true);
      expect(hit(dns, TABLE.EGRESS_OUT, PRIORITY[TABLE.EGRESS_OUT].MULTICAST)).toBe(true);
    });

    it('IPv6 is dropped; other ethertypes pass port security by MAC alone', async () => {
      const v6 = await lab.trace('compute-1', `ipv6,in_port=tap-a1,dl_src=${MAC.a1},dl_dst=33:33:00:00:00:01,ipv6_src=fe80::1,ipv6_dst=ff02::1`);
      expect(last(v6)).toMatchObject({ table: TABLE.PORT_SECURITY, priority: P1.IPV6 });
      const other = await lab.trace('compute-1', `in_port=tap-a1,dl_src=${MAC.a1},dl_dst=${MAC.a2},dl_type=0x88b5`);
      expect(hit(other, TABLE.PORT_SECURITY, P1.OTHER)).toBe(true);
      expect(destinations(other)).toEqual([`vxlan:100@${C2}`]);
    });
  });

  describe('ingress of what is not IPv4, and DHCP replies', () => {
    it('ARP to a local VM goes straight to delivery (table 30 -> 32)', async () => {
      const t = await lab.trace(
        'compute-1',
        fromTunnel('compute-1', 100, C2, C1, `arp,in_port=x,dl_src=${MAC.a2},dl_dst=${MAC.a1},arp_op=2,arp_sha=${MAC.a2},arp_spa=${IP.a2},arp_tha=${MAC.a1},arp_tpa=${IP.a1}`),
      );
      expect(destinations(t)).toEqual(['tap-a1']);
      expect(hit(t, TABLE.INGRESS_CT, PRIORITY[TABLE.INGRESS_CT].OTHER)).toBe(true);
    });

    it("the DHCP server's unicast reply (from the subnet's gateway IP) passes; udp 67->68 from a VM does not", async () => {
      const reply = (src: string) =>
        fromTunnel('compute-1', 100, DHCP, C1, `udp,in_port=x,dl_src=${GW},dl_dst=${MAC.a1},nw_src=${src},nw_dst=${IP.a1},nw_ttl=64,udp_src=67,udp_dst=68`);
      const ok = await lab.trace('compute-1', reply(IP.gwA), undefined, ['trk,new']);
      expect(destinations(ok)).toEqual(['tap-a1']);
      expect(hit(ok, TABLE.INGRESS_ACL, P31.DHCP_REPLY, vm('a1'))).toBe(true);
      const forged = await lab.trace('compute-1', reply(IP.a2), undefined, ['trk,new']);
      expect(last(forged)).toEqual({ table: TABLE.INGRESS_ACL, priority: P31.DENIED, cookie: vm('a1') });
    });
  });
});
