// Behaviour on real Open vSwitch: every row of the pipeline exercised with `ofproto/trace` on bridges set up as each
// role (the way Neutron's functional tests check OVS agents). Needs root and ovs-vswitchd; skipped otherwise.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_MAC, type Cloud } from '../../src/topology/model.js';
import { referenceCloud } from '../../src/topology/examples.js';
import { startPipelineLab, type PipelineLab } from '../helpers/pipeline-lab.js';
import { destinations } from '../helpers/trace.js';

const canRun = process.getuid?.() === 0 && spawnSync('ovs-vswitchd', ['--version']).status === 0;

/**
 * The reference cloud plus what the scenarios need: a second gateway whose service IP differs from its underlay IP,
 * VMs bound to each gateway, a second VM of net-a on compute-1 (local broadcast), and a VM whose port does not
 * exist yet.
 */
function labCloud(): Cloud {
  const ref = referenceCloud();
  return {
    nodes: [...ref.nodes, { name: 'gateway-2', roles: ['gateway'], underlayIp: '10.99.0.22', serviceIp: '10.99.1.22', az: 'AZ-2' }],
    subnets: ref.subnets,
    vms: [
      ...ref.vms.map((v) => (v.subnet === 'net-b' ? { ...v, gateway: 'gateway-2' } : v)),
      { name: 'vm-a3', subnet: 'net-a', node: 'compute-1', gateway: 'gateway-2', ip: '192.168.20.12', mac: '02:00:00:00:0a:03', port: 'tap-a3' },
      { name: 'vm-b3', subnet: 'net-b', node: 'compute-2', gateway: 'gateway-1', ip: '192.168.20.42', mac: '02:00:00:00:0b:03', port: 'tap-b3' },
    ],
  };
}

const C1 = '10.99.0.11';
const C2 = '10.99.0.12';
const GW1 = '10.99.0.21';
const GW2_SERVICE = '10.99.1.22';
const SWITCH = '10.99.0.31';
const DHCP = '10.99.0.41';
const A = 100;
const B = 101;
const GW = GATEWAY_MAC;
const BCAST = 'ff:ff:ff:ff:ff:ff';
const MAC = { a1: '02:00:00:00:0a:01', a2: '02:00:00:00:0a:02', a3: '02:00:00:00:0a:03', b1: '02:00:00:00:0b:01', b2: '02:00:00:00:0b:02', b3: '02:00:00:00:0b:03' };
const IP = { a1: '192.168.20.10', a2: '192.168.20.11', a3: '192.168.20.12', b1: '192.168.20.40', b2: '192.168.20.41', b3: '192.168.20.42', gwA: '192.168.20.1', gwB: '192.168.20.33' };

describe.skipIf(!canRun)('pipeline on real OVS (ofproto/trace)', () => {
  let lab: PipelineLab;

  beforeAll(async () => {
    lab = await startPipelineLab('mc-pipeline', labCloud(), { missingPorts: ['tap-b3'] });
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  const icmp = (port: string, src: string, dst: string, nwSrc: string, nwDst: string): string =>
    `icmp,in_port=${port},dl_src=${src},dl_dst=${dst},nw_src=${nwSrc},nw_dst=${nwDst},nw_ttl=64`;
  const arpRequest = (port: string, mac: string, ip: string, target: string): string =>
    `arp,in_port=${port},dl_src=${mac},dl_dst=${BCAST},arp_op=1,arp_sha=${mac},arp_spa=${ip},arp_tha=00:00:00:00:00:00,arp_tpa=${target}`;

  describe('path MTU (table 20): nothing too big for the tunnel is dropped silently', () => {
    // The lab's overlay MTU is the default 1450: a frame of 1464 bytes (IP 1450) fits, 1465 does not.
    const FITS = 1450 + 14;

    it('a frame that fits goes into the tunnel; one byte more goes to the controller instead (L2, routed, to the gateway)', async () => {
      const cases = [
        icmp('tap-a1', MAC.a1, MAC.a2, IP.a1, IP.a2), // L2 to a remote VM
        icmp('tap-a1', MAC.a1, GW, IP.a1, IP.b2), // routed to a remote VM
        icmp('tap-a1', MAC.a1, GW, IP.a1, '198.51.100.7'), // to its gateway on another node
      ];
      for (const flow of cases) {
        const fits = await lab.trace('compute-1', flow, FITS);
        expect(destinations(fits), flow).toHaveLength(1);
        expect(destinations(fits)[0], flow).toMatch(/^vxlan:/);
        const big = await lab.trace('compute-1', flow, FITS + 1);
        expect(destinations(big), flow).toEqual(['CONTROLLER']);
        expect(big.raw, flow).toMatch(/meter:1/);
      }
    });

    it('a too-big frame that is not IPv4 is dropped by its own row (no ICMPv4 to send)', async () => {
      const flow = `in_port=tap-a1,dl_src=${MAC.a1},dl_dst=${MAC.a2},dl_type=0x88b5`;
      expect(destinations(await lab.trace('compute-1', flow, FITS))).toEqual([`vxlan:${A}@${C2}`]);
      expect((await lab.trace('compute-1', flow, FITS + 1)).dropped).toBe(true);
    });

    it('local delivery is not checked: the overlay MTU only binds the tunnel', async () => {
      expect(destinations(await lab.trace('compute-1', icmp('tap-a1', MAC.a1, MAC.a3, IP.a1, IP.a3), 9000))).toEqual(['tap-a3']);
    });
  });

  describe('unicast within a subnet', () => {
    it('same node: straight to the other VM, nothing else', async () => {
      const t = await lab.trace('compute-1', icmp('tap-a1', MAC.a1, MAC.a3, IP.a1, IP.a3));
      expect(destinations(t)).toEqual(['tap-a3']);
      expect(t.outputs[0]).toMatchObject({ ethSrc: MAC.a1, ethDst: MAC.a3 });
    });

    it('across nodes: vxlan-int with the subnet VNI to the VM host, then delivered by tun_id + MAC', async () => {
      const out = await lab.trace('compute-1', icmp('tap-a1', MAC.a1, MAC.a2, IP.a1, IP.a2));
      expect(destinations(out)).toEqual([`vxlan:${A}@${C2}`]);
      expect(out.outputs[0]!.tunnel!.src).toBe(C1);
      const ingress = await lab.trace('compute-2', `${icmp(lab.vxlanInt('compute-2'), MAC.a1, MAC.a2, IP.a1, IP.a2)},tun_id=${A},tun_src=${C1},tun_dst=${C2}`);
      expect(destinations(ingress)).toEqual(['tap-a2']);
    });

    it('a VM sending from a MAC that is not its own is dropped (table 0)', async () => {
      const t = await lab.trace('compute-1', icmp('tap-a1', '02:00:00:00:99:99', MAC.a3, IP.a1, IP.a3));
      expect(t.dropped).toBe(true);
    });

    it('no L2 path into another subnet: non-IP frames to another subnet VM MAC are dropped', async () => {
      const t = await lab.trace('compute-1', `in_port=tap-a1,dl_src=${MAC.a1},dl_dst=${MAC.b1},dl_type=0x88b5`);
      expect(t.dropped).toBe(true);
    });
  });

  describe('routing between subnets (distributed, never via the gateway)', () => {
    it('other subnet, other node: MACs rewritten, destination VNI, straight to the VM host', async () => {
      const t = await lab.trace('compute-1', icmp('tap-a1', MAC.a1, GW, IP.a1, IP.b2));
      expect(destinations(t)).toEqual([`vxlan:${B}@${C2}`]);
      expect(t.outputs[0]).toMatchObject({ ethSrc: GW, ethDst: MAC.b2 });
      expect(t.outputs[0]!.sets['ipv4.ttl']).toBe('63');
      const ingress = await lab.trace(
        'compute-2',
        `icmp,in_port=${lab.vxlanInt('compute-2')},tun_id=${B},tun_src=${C1},tun_dst=${C2},dl_src=${GW},dl_dst=${MAC.b2},nw_src=${IP.a1},nw_dst=${IP.b2},nw_ttl=63`,
      );
      expect(destinations(ingress)).toEqual(['tap-b2']);
    });

    it('other subnet, same node: delivered locally with rewritten MACs', async () => {
      const t = await lab.trace('compute-1', icmp('tap-a1', MAC.a1, GW, IP.a1, IP.b1));
      expect(destinations(t)).toEqual(['tap-b1']);
      expect(t.outputs[0]).toMatchObject({ ethSrc: GW, ethDst: MAC.b1 });
    });

    it('tunnel traffic is never routed on arrival', async () => {
      const t = await lab.trace(
        'compute-2',
        `icmp,in_port=${lab.vxlanInt('compute-2')},tun_id=${A},tun_src=${C1},tun_dst=${C2},dl_src=${MAC.a1},dl_dst=${GW},nw_src=${IP.a1},nw_dst=${IP.b2}`,
      );
      expect(t.dropped).toBe(true);
    });
  });

  describe('ARP answered on the asking VM node', () => {
    const expectReply = (t: Awaited<ReturnType<PipelineLab['trace']>>, port: string, asker: { mac: string; ip: string }, owner: { mac: string; ip: string }): void => {
      expect(destinations(t)).toEqual([port]);
      const f = t.finalFlow;
      expect(f.get('dl_src')).toBe(owner.mac);
      expect(f.get('dl_dst')).toBe(asker.mac);
      expect(f.get('arp_op')).toBe('2');
      expect(f.get('arp_sha')).toBe(owner.mac);
      expect(f.get('arp_spa')).toBe(owner.ip);
      expect(f.get('arp_tha')).toBe(asker.mac);
      expect(f.get('arp_tpa')).toBe(asker.ip);
    };

    it('for its gateway IP: the gateway MAC, back out of the asking port, nothing on the underlay', async () => {
      const t = await lab.trace('compute-1', arpRequest('tap-a1', MAC.a1, IP.a1, IP.gwA));
      expectReply(t, 'tap-a1', { mac: MAC.a1, ip: IP.a1 }, { mac: GW, ip: IP.gwA });
    });

    it('for the other subnet gateway IP too (each subnet answered with its own IP)', async () => {
      const t = await lab.trace('compute-2', arpRequest('tap-b2', MAC.b2, IP.b2, IP.gwB));
      expectReply(t, 'tap-b2', { mac: MAC.b2, ip: IP.b2 }, { mac: GW, ip: IP.gwB });
    });

    it('for a VM on another node: its MAC, answered locally', async () => {
      const t = await lab.trace('compute-1', arpRequest('tap-a1', MAC.a1, IP.a1, IP.a2));
      expectReply(t, 'tap-a1', { mac: MAC.a1, ip: IP.a1 }, { mac: MAC.a2, ip: IP.a2 });
    });

    it('for a VM asked by a gateway kernel (LOCAL): answered to LOCAL', async () => {
      const t = await lab.trace('gateway-1', arpRequest('LOCAL', GW, IP.gwA, IP.a2));
      expectReply(t, 'gateway-1', { mac: GW, ip: IP.gwA }, { mac: MAC.a2, ip: IP.a2 });
    });

    it('ARP probes (sender 0.0.0.0) are not answered', async () => {
      const t = await lab.trace('compute-1', arpRequest('tap-a1', MAC.a1, '0.0.0.0', IP.a1));
      expect(t.dropped).toBe(true);
    });
  });

  describe('DHCP', () => {
    const discover = (port: string, mac: string): string =>
      `udp,in_port=${port},dl_src=${mac},dl_dst=${BCAST},nw_src=0.0.0.0,nw_dst=255.255.255.255,udp_src=68,udp_dst=67`;

    it('a broadcast request goes only to the DHCP node, with the subnet VNI', async () => {
      const t = await lab.trace('compute-1', discover('tap-a1', MAC.a1));
      expect(destinations(t)).toEqual([`vxlan:${A}@${DHCP}`]);
      const b = await lab.trace('compute-2', discover('tap-b2', MAC.b2));
      expect(destinations(b)).toEqual([`vxlan:${B}@${DHCP}`]);
    });

    it('a unicast renewal (to the gateway MAC) goes to the DHCP node, not the gateway', async () => {
      const t = await lab.trace('compute-1', `udp,in_port=tap-a1,dl_src=${MAC.a1},dl_dst=${GW},nw_src=${IP.a1},nw_dst=${IP.gwA},udp_src=68,udp_dst=67`);
      expect(destinations(t)).toEqual([`vxlan:${A}@${DHCP}`]);
    });

    it('the DHCP node hands requests of known VNIs to its server (LOCAL), broadcast or unicast', async () => {
      const vxi = lab.vxlanInt('dhcp');
      const b = await lab.trace('dhcp', `udp,in_port=${vxi},tun_id=${A},tun_src=${C1},tun_dst=${DHCP},dl_src=${MAC.a1},dl_dst=${BCAST},nw_src=0.0.0.0,nw_dst=255.255.255.255,udp_src=68,udp_dst=67`);
      expect(destinations(b)).toEqual(['dhcp']);
      const u = await lab.trace('dhcp', `udp,in_port=${vxi},tun_id=${B},tun_src=${C1},tun_dst=${DHCP},dl_src=${MAC.b1},dl_dst=${GW},nw_src=${IP.b1},nw_dst=${IP.gwB},udp_src=68,udp_dst=67`);
      expect(destinations(u)).toEqual(['dhcp']);
      const unknown = await lab.trace('dhcp', `udp,in_port=${vxi},tun_id=999,tun_src=${C1},tun_dst=${DHCP},dl_src=${MAC.a1},dl_dst=${BCAST},nw_src=0.0.0.0,nw_dst=255.255.255.255,udp_src=68,udp_dst=67`);
      expect(unknown.dropped).toBe(true);
    });

    it('a unicast reply reaches the VM host with the VM subnet VNI', async () => {
      const t = await lab.trace('dhcp', `udp,in_port=LOCAL,dl_src=${GW},dl_dst=${MAC.b2},nw_src=${IP.gwB},nw_dst=${IP.b2},nw_ttl=64,udp_src=67,udp_dst=68`);
      expect(destinations(t)).toEqual([`vxlan:${B}@${C2}`]);
      expect(t.outputs[0]).toMatchObject({ ethDst: MAC.b2 });
    });

    it('a broadcast reply goes to the switch with its subnet VNI, then to every host of the subnet, then to its VMs', async () => {
      const t = await lab.trace('dhcp', `udp,in_port=LOCAL,dl_src=${GW},dl_dst=${BCAST},nw_src=${IP.gwA},nw_dst=255.255.255.255,udp_src=67,udp_dst=68`);
      expect(destinations(t)).toEqual([`vxlan:${A}@${SWITCH}`]);
      const sw = await lab.trace('switch', `udp,in_port=sw-dhcp,tun_id=${A},tun_src=${DHCP},tun_dst=${SWITCH},dl_src=${GW},dl_dst=${BCAST},nw_src=${IP.gwA},nw_dst=255.255.255.255,udp_src=67,udp_dst=68`);
      expect(destinations(sw)).toEqual([`vxlan:${A}@${C1}`, `vxlan:${A}@${C2}`]);
      const host = await lab.trace('compute-1', `udp,in_port=${lab.vxlanSw('compute-1')},tun_id=${A},tun_src=${SWITCH},tun_dst=${C1},dl_src=${GW},dl_dst=${BCAST},nw_src=${IP.gwA},nw_dst=255.255.255.255,udp_src=67,udp_dst=68`);
      expect(destinations(host)).toEqual(['tap-a1', 'tap-a3']);
    });
  });

  describe('egress through the VM own gateway, and replies', () => {
    const out = (port: string, mac: string, ip: string): string => icmp(port, mac, GW, ip, '203.0.113.7');

    it('each VM goes to the gateway it is bound to, with its subnet VNI (two gateways)', async () => {
      expect(destinations(await lab.trace('compute-1', out('tap-a1', MAC.a1, IP.a1)))).toEqual([`vxlan:${A}@${GW1}`]);
      expect(destinations(await lab.trace('compute-1', out('tap-a3', MAC.a3, IP.a3)))).toEqual([`vxlan:${A}@${GW2_SERVICE}`]);
      expect(destinations(await lab.trace('compute-1', out('tap-b1', MAC.b1, IP.b1)))).toEqual([`vxlan:${B}@${GW2_SERVICE}`]);
      expect(destinations(await lab.trace('compute-2', out('tap-a2', MAC.a2, IP.a2)))).toEqual([`vxlan:${A}@${GW1}`]);
    });

    it('the gateway hands known VNIs to its kernel and drops unknown ones', async () => {
      const vxi = lab.vxlanInt('gateway-1');
      const known = await lab.trace('gateway-1', `icmp,in_port=${vxi},tun_id=${A},tun_src=${C1},tun_dst=${GW1},dl_src=${MAC.a1},dl_dst=${GW},nw_src=${IP.a1},nw_dst=203.0.113.7`);
      expect(destinations(known)).toEqual(['gateway-1']);
      const other = await lab.trace('gateway-2', `icmp,in_port=${lab.vxlanInt('gateway-2')},tun_id=${B},tun_src=${C1},tun_dst=${GW2_SERVICE},dl_src=${MAC.b1},dl_dst=${GW},nw_src=${IP.b1},nw_dst=203.0.113.7`);
      expect(destinations(other)).toEqual(['gateway-2']);
      const unknown = await lab.trace('gateway-1', `icmp,in_port=${vxi},tun_id=999,tun_src=${C1},tun_dst=${GW1},dl_src=${MAC.a1},dl_dst=${GW},nw_src=${IP.a1},nw_dst=203.0.113.7`);
      expect(unknown.dropped).toBe(true);
    });

    it('replies from the gateway kernel go back to the right VM host with the VM subnet VNI', async () => {
      const r1 = await lab.trace('gateway-1', icmp('LOCAL', GW, MAC.a2, '203.0.113.7', IP.a2));
      expect(destinations(r1)).toEqual([`vxlan:${A}@${C2}`]);
      expect(r1.outputs[0]).toMatchObject({ ethSrc: GW, ethDst: MAC.a2 });
      const r2 = await lab.trace('gateway-2', icmp('LOCAL', GW, MAC.b1, '203.0.113.7', IP.b1));
      expect(destinations(r2)).toEqual([`vxlan:${B}@${C1}`]);
      expect(r2.outputs[0]!.tunnel!.src).toBe(GW2_SERVICE);
    });
  });

  describe('broadcast: every other VM of the subnet, never the sender, never another subnet', () => {
    const bcast = (port: string, mac: string, ip: string): string => arpRequest(port, mac, ip, '192.168.20.99');

    it('from a VM: the other local VM of its subnet and the switch, not itself, not the other subnet', async () => {
      const t = await lab.trace('compute-1', bcast('tap-a1', MAC.a1, IP.a1));
      expect(destinations(t)).toEqual(['tap-a3', `vxlan:${A}@${SWITCH}`]);
      const t3 = await lab.trace('compute-1', bcast('tap-a3', MAC.a3, IP.a3));
      expect(destinations(t3)).toEqual(['tap-a1', `vxlan:${A}@${SWITCH}`]);
    });

    it('multicast takes the same path', async () => {
      const t = await lab.trace('compute-1', `udp,in_port=tap-a1,dl_src=${MAC.a1},dl_dst=01:00:5e:00:00:fb,nw_src=${IP.a1},nw_dst=224.0.0.251,udp_src=5353,udp_dst=5353`);
      expect(destinations(t)).toEqual(['tap-a3', `vxlan:${A}@${SWITCH}`]);
    });

    it('a VM alone on its node with its subnet: only to the switch', async () => {
      const t = await lab.trace('compute-1', bcast('tap-b1', MAC.b1, IP.b1));
      expect(destinations(t)).toEqual([`vxlan:${B}@${SWITCH}`]);
    });

    it('the switch sends it to every other host of the subnet, never back to the sender host', async () => {
      const a = await lab.trace('switch', `${bcast('sw-compute-1', MAC.a1, IP.a1)},tun_id=${A},tun_src=${C1},tun_dst=${SWITCH}`);
      expect(destinations(a)).toEqual([`vxlan:${A}@${C2}`]);
      const b = await lab.trace('switch', `${bcast('sw-compute-2', MAC.b2, IP.b2)},tun_id=${B},tun_src=${C2},tun_dst=${SWITCH}`);
      expect(destinations(b)).toEqual([`vxlan:${B}@${C1}`]);
      const unknown = await lab.trace('switch', `${bcast('sw-compute-1', MAC.a1, IP.a1)},tun_id=999,tun_src=${C1},tun_dst=${SWITCH}`);
      expect(unknown.dropped).toBe(true);
    });

    it('on the receiving host: only the local VMs of that VNI, nothing answered, nothing sent back', async () => {
      const vxs = lab.vxlanSw('compute-2');
      const a = await lab.trace('compute-2', `${bcast(vxs, MAC.a1, IP.a1)},tun_id=${A},tun_src=${SWITCH},tun_dst=${C2}`);
      expect(destinations(a)).toEqual(['tap-a2']);
      // An ARP request for the gateway arriving from the switch is delivered, not answered (the sender's node answers).
      const arp = await lab.trace('compute-2', `${arpRequest(vxs, MAC.a1, IP.a1, IP.gwA)},tun_id=${A},tun_src=${SWITCH},tun_dst=${C2}`);
      expect(destinations(arp)).toEqual(['tap-a2']);
      expect(arp.finalFlow.get('arp_op')).toBe('1');
      const unknown = await lab.trace('compute-2', `${bcast(vxs, MAC.a1, IP.a1)},tun_id=999,tun_src=${SWITCH},tun_dst=${C2}`);
      expect(unknown.dropped).toBe(true);
    });
  });

  describe('tunnel ingress isolation', () => {
    it('a frame is delivered only if its VNI is the destination VM subnet', async () => {
      const vxi = lab.vxlanInt('compute-2');
      const wrong = await lab.trace('compute-2', `icmp,in_port=${vxi},tun_id=${B},tun_src=${C1},tun_dst=${C2},dl_src=${MAC.b1},dl_dst=${MAC.a2},nw_src=${IP.b1},nw_dst=${IP.a2}`);
      expect(wrong.dropped).toBe(true);
      const unknown = await lab.trace('compute-2', `icmp,in_port=${vxi},tun_id=999,tun_src=${C1},tun_dst=${C2},dl_src=${MAC.a1},dl_dst=${MAC.a2},nw_src=${IP.a1},nw_dst=${IP.a2}`);
      expect(unknown.dropped).toBe(true);
    });

    it('a broadcast arriving on vxlan-int is dropped on a compute node', async () => {
      const t = await lab.trace('compute-2', `${arpRequest(lab.vxlanInt('compute-2'), MAC.a1, IP.a1, IP.gwA)},tun_id=${A},tun_src=${C1},tun_dst=${C2}`);
      expect(t.dropped).toBe(true);
    });
  });

  describe('ports come from the switch', () => {
    it('a VM whose port does not exist yet gets no local delivery, but its ARP is answered', async () => {
      expect(lab.ports.get('compute-2')!.has('tap-b3')).toBe(false);
      const t = await lab.trace(
        'compute-2',
        `icmp,in_port=${lab.vxlanInt('compute-2')},tun_id=${B},tun_src=${C1},tun_dst=${C2},dl_src=${MAC.b1},dl_dst=${MAC.b3},nw_src=${IP.b1},nw_dst=${IP.b3}`,
      );
      expect(t.dropped).toBe(true);
      const arp = await lab.trace('compute-2', arpRequest('tap-b2', MAC.b2, IP.b2, IP.b3));
      expect(arp.finalFlow.get('arp_sha')).toBe(MAC.b3);
    });

    it('the flows use the port numbers OVS assigned', async () => {
      const c1 = lab.ports.get('compute-1')!;
      const ofctl = await lab.ovs.ofctl('-O', 'OpenFlow13', 'show', 'compute-1');
      for (const [name, no] of c1) {
        const labName = name === 'vxlan-int' ? 'compute-1-vxi' : name === 'vxlan-sw' ? 'compute-1-vxs' : name;
        expect(ofctl).toContain(` ${no}(${labName}):`);
      }
    });
  });
});
