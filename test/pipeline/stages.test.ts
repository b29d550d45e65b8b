// Unit tests of each stage on the reference cloud (ports as a fresh node numbers them), plus the properties that
// must hold on any cloud: determinism, ports never assumed, broadcast never listing its sender, sharing.
import { describe, expect, it } from 'vitest';
import { OFPP } from '../../src/openflow/consts.js';
import { indexCloud, ModelError } from '../../src/pipeline/cloud-index.js';
import { compileCloud, compileNode, computeFlows, dhcpFlows, gatewayFlows, managementFlows, switchFlows } from '../../src/pipeline/compile.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { CompileContext } from '../../src/pipeline/stage.js';
import { PRIORITY, TABLE } from '../../src/pipeline/tables.js';
import { referenceCloud, referencePorts, syntheticCloud } from '../../src/topology/examples.js';
import { validateCloud, type Cloud } from '../../src/topology/model.js';
import { compileReference, grep, outputs, text } from './fixtures.js';

const ref = compileReference();
const c1 = ref.flows.get('compute-1')!;
const c2 = ref.flows.get('compute-2')!;
const gw = ref.flows.get('gateway-1')!;
const sw = ref.flows.get('switch')!;
const dhcp = ref.flows.get('dhcp')!;
// compute-1: vxlan-int=1 vxlan-sw=2 tap-a1=3 tap-b1=4; compute-2: tap-a2=3 tap-b2=4. VNIs 100 (0x64), 101 (0x65).

describe('compute stage', () => {
  it('admits a VM port only with its MAC, tagging the subnet VNI and its routing domain (reg2)', () => {
    expect(grep(c1.filter((f) => f.tableId === 0), 'in_port=3,')).toEqual([
      'priority=20,in_port=3,dl_src=02:00:00:00:0a:01,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 cookie:0x4d433200c0a8140a actions=set_field:0x64->tun_id,load:0x1->NXM_NX_REG2[],goto_table:50',
      'priority=10,in_port=3,dl_src=02:00:00:00:0a:01 cookie:0x4d433200c0a8140a actions=set_field:0x64->tun_id,load:0x1->NXM_NX_REG2[],goto_table:10',
    ]);
  });

  it('sends a VM to its own gateway service IP (its frame already has the VNI)', () => {
    expect(grep(c1, 'priority=5,')).toEqual([
      'table:10 priority=5,dl_src=02:00:00:00:0a:01,dl_dst=12:00:00:ff:ff:ff cookie:0x4d433200c0a8140a actions=load:0xa630015->NXM_NX_TUN_IPV4_DST[],check_pkt_larger(1464)->NXM_NX_REG0[0],goto_table:20',
      'table:10 priority=5,dl_src=02:00:00:00:0b:01,dl_dst=12:00:00:ff:ff:ff cookie:0x4d433200c0a81428 actions=load:0xa630015->NXM_NX_TUN_IPV4_DST[],check_pkt_larger(1464)->NXM_NX_REG0[0],goto_table:20',
    ]);
  });

  it('routes to another subnet directly: destination VNI and host, MACs rewritten, TTL decremented', () => {
    expect(grep(c1, 'nw_dst=192.168.20.41')).toEqual([
      'table:10 priority=10,ip,reg2=0x1,nw_dst=192.168.20.41 cookie:0x4d433100c0a81429 actions=dec_ttl,set_field:12:00:00:ff:ff:ff->eth_src,set_field:02:00:00:00:0b:02->eth_dst,set_field:0x65->tun_id,load:0xa63000c->NXM_NX_TUN_IPV4_DST[],check_pkt_larger(1464)->NXM_NX_REG0[0],goto_table:20',
    ]);
  });

  it('sends into the tunnel only through the path-MTU check (table 20), with the overlay MTU of the context', () => {
    expect(grep(c1, 'table:20 ')).toEqual([
      'table:20 priority=20,ip,reg0=0x1/0x1 cookie:0x4d4311000a63000b actions=meter:1,CONTROLLER:128',
      'table:20 priority=10,reg0=0x1/0x1 cookie:0x4d4311000a63000b actions=drop',
      'table:20 priority=0 cookie:0x4d4311000a63000b actions=output:1',
    ]);
    for (const t of text(c1)) if (t.includes('output:1') && !t.startsWith('table:20 ') && !t.includes('tp_dst=67')) expect.fail(`bypasses the check: ${t}`);
    const jumbo = compileNode(new CompileContext(ref.index, { overlayMtu: 8950 }), 'compute-1', ref.ports.get('compute-1')!);
    expect(grep(jumbo, 'nw_dst=192.168.20.41')[0]).toContain('check_pkt_larger(8964)->NXM_NX_REG0[0],goto_table:20');
  });

  it('delivers L2 only by (tun_id, MAC)', () => {
    expect(grep(c1, 'table:10 priority=15,')).toHaveLength(4);
    for (const t of grep(c1, 'table:10 priority=15,')) expect(t).toMatch(/tun_id=0x6[45],dl_dst=/);
  });

  it('sends DHCP (broadcast and renewals) of the default domain to the DHCP node', () => {
    expect(grep(c1, 'tp_src=68,tp_dst=67')).toEqual([
      'table:50 priority=15,udp,reg2=0x1,tp_src=68,tp_dst=67 cookie:0x4d4312000a63000b actions=load:0xa630029->NXM_NX_TUN_IPV4_DST[],output:1',
      'table:10 priority=11,udp,reg2=0x1,tp_src=68,tp_dst=67 cookie:0x4d4312000a63000b actions=load:0xa630029->NXM_NX_TUN_IPV4_DST[],output:1',
    ]);
  });

  it('has no clone or resubmit anywhere (nothing rewrites in_port)', () => {
    for (const [, flows] of ref.flows) for (const t of text(flows)) expect(t).not.toMatch(/clone|resubmit/);
  });

  it('stage function alone gives only the compute rows', () => {
    const only = computeFlows(ref.index, 'compute-1', ref.ports.get('compute-1')!);
    expect(only.every((f) => (f.cookie >> 40n) % 16n === 2n)).toBe(true);
    expect(only.length).toBeGreaterThan(0);
  });
});

describe('broadcast', () => {
  const cloud = syntheticCloud({ computeNodes: 4, vms: 60, vmsPerSubnet: 12 });
  const compiled = compileReference(cloud);

  it('a local VM broadcast row lists every other local VM of its subnet and never the sender', () => {
    let checked = 0;
    for (const [node, flows] of compiled.flows) {
      const ports = compiled.ports.get(node)!;
      for (const f of flows.filter((f) => f.tableId === TABLE.BROADCAST && f.priority === PRIORITY[TABLE.BROADCAST].LOCAL_BROADCAST)) {
        const sender = f.match.find((m) => m.field === 'in_port')!.value;
        const senderPort = new DataView(sender.buffer, sender.byteOffset).getUint32(0);
        const senderVm = cloud.vms.find((v) => v.node === node && ports.get(v.port) === senderPort)!;
        const expected = cloud.vms
          .filter((v) => v.node === node && v.subnet === senderVm.subnet && v !== senderVm)
          .map((v) => ports.get(v.port)!)
          .sort((a, b) => a - b);
        expect(outputs(f).sort((a, b) => a - b)).toEqual(expected);
        expect(outputs(f)).not.toContain(senderPort);
        expect(f.instructions.at(-1)).toEqual({ type: 'goto_table', tableId: TABLE.FLOOD });
        checked++;
      }
    }
    expect(checked).toBe(60);
  });

  it('the switch replicates to every other host of the subnet, never back to the source host', () => {
    const flows = compiled.flows.get('switch')!;
    const ports = compiled.ports.get('switch')!;
    const byPort = new Map([...ports].map(([n, p]) => [p, n.replace(/^sw-/, '')] as const));
    for (const f of flows.filter((f) => f.tableId === TABLE.FLOOD && f.priority === PRIORITY[TABLE.FLOOD].SWITCH_REPLICATE)) {
      const inPort = f.match.find((m) => m.field === 'in_port')!.value;
      const source = byPort.get(new DataView(inPort.buffer, inPort.byteOffset).getUint32(0))!;
      const vni = Number(new DataView(f.match.find((m) => m.field === 'tun_id')!.value.buffer).getBigUint64(0));
      const subnet = cloud.subnets.find((s) => s.vni === vni)!;
      const hosts = [...new Set(cloud.vms.filter((v) => v.subnet === subnet.name).map((v) => v.node))].filter((h) => h !== source).sort();
      expect(outputs(f).map((p) => byPort.get(p)).sort()).toEqual(hosts);
    }
  });

  it('reference switch: per (source host, VNI) rows, DHCP node as a source only', () => {
    expect(grep(sw, 'table:60 priority=10,')).toEqual([
      'table:60 priority=10,tun_id=0x64,in_port=1 cookie:0x4d43250000000064 actions=output:2',
      'table:60 priority=10,tun_id=0x64,in_port=2 cookie:0x4d43250000000064 actions=output:1',
      'table:60 priority=10,tun_id=0x64,in_port=3 cookie:0x4d43250000000064 actions=output:1,output:2',
      'table:60 priority=10,tun_id=0x65,in_port=1 cookie:0x4d43250000000065 actions=output:2',
      'table:60 priority=10,tun_id=0x65,in_port=2 cookie:0x4d43250000000065 actions=output:1',
      'table:60 priority=10,tun_id=0x65,in_port=3 cookie:0x4d43250000000065 actions=output:1,output:2',
    ]);
    expect(switchFlows(ref.index, 'switch', ref.ports.get('switch')!)).toEqual(sw);
  });

  it('from the switch: delivered by VNI to local VMs; tunnel ingress is otherwise dropped before the responders', () => {
    expect(grep(c2, 'in_port=2')).toEqual([
      'table:50 priority=25,in_port=2 cookie:0x4d4311000a63000c actions=drop',
      'priority=20,tun_id=0x64,in_port=2,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 cookie:0x4d43210000000064 actions=load:0x1->NXM_NX_REG2[],goto_table:50',
      'table:50 priority=30,tun_id=0x64,in_port=2 cookie:0x4d43220000000064 actions=output:3',
      'priority=20,tun_id=0x65,in_port=2,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 cookie:0x4d43210000000065 actions=load:0x1->NXM_NX_REG2[],goto_table:50',
      'table:50 priority=30,tun_id=0x65,in_port=2 cookie:0x4d43220000000065 actions=output:4',
    ]);
  });
});

describe('gateway stage', () => {
  it('admits tunnel traffic for the gateway MAC per known VNI of the default domain to LOCAL', () => {
    expect(gatewayFlows(ref.index, 'gateway-1', ref.ports.get('gateway-1')!).map(formatFlow)).toEqual([
      // Nothing of a VM's to a transit address reaches the kernel, nothing from it with a transit source comes back in.
      'table:10 priority=14,ip,dl_dst=12:00:00:ff:ff:ff,nw_dst=100.64.0.0/16 cookie:0x4d4313000a630015 actions=drop',
      'priority=30,ip,in_port=LOCAL,nw_src=100.64.0.0/16 cookie:0x4d4313000a630015 actions=drop',
      'table:10 priority=13,tun_id=0x64,in_port=1,dl_dst=12:00:00:ff:ff:ff cookie:0x4d43230000000064 actions=LOCAL',
      'table:10 priority=13,tun_id=0x65,in_port=1,dl_dst=12:00:00:ff:ff:ff cookie:0x4d43230000000065 actions=LOCAL',
    ]);
  });

  it('has every VM flow like any node (replies are routed back with the VM VNI), no catch-all to LOCAL', () => {
    expect(grep(gw, 'nw_dst=192.168.20.10')[0]).toContain('set_field:0x64->tun_id,load:0xa63000b->NXM_NX_TUN_IPV4_DST[],check_pkt_larger(1464)->NXM_NX_REG0[0],goto_table:20');
    expect(grep(gw, 'table:10', 'actions=LOCAL').every((t) => t.includes('tun_id='))).toBe(true);
  });

  it('a VM bound to a gateway that is its own node egresses to LOCAL', () => {
    const cloud: Cloud = {
      ...referenceCloud(),
      nodes: referenceCloud().nodes.map((n) => (n.name === 'compute-1' ? { ...n, roles: ['compute', 'gateway'] } : n)),
      vms: referenceCloud().vms.map((v) => (v.name === 'vm-a1' ? { ...v, gateway: 'compute-1' } : v)),
    };
    const flows = compileReference(cloud).flows.get('compute-1')!;
    expect(grep(flows, 'priority=5,', 'dl_src=02:00:00:00:0a:01')).toEqual([
      'table:10 priority=5,dl_src=02:00:00:00:0a:01,dl_dst=12:00:00:ff:ff:ff cookie:0x4d433200c0a8140a actions=LOCAL',
    ]);
  });
});

describe('DHCP stage', () => {
  it('hands DHCP from known VNIs to LOCAL and sends broadcast replies to the switch with the VNI', () => {
    expect(dhcpFlows(ref.index, 'dhcp', ref.ports.get('dhcp')!).map(formatFlow)).toEqual([
      'table:10 priority=30,udp,tun_id=0x64,in_port=1,tp_src=68,tp_dst=67 cookie:0x4d43240000000064 actions=LOCAL',
      'table:50 priority=30,udp,tun_id=0x64,in_port=1,tp_src=68,tp_dst=67 cookie:0x4d43240000000064 actions=LOCAL',
      'table:50 priority=12,udp,in_port=LOCAL,nw_src=192.168.20.1,tp_src=67,tp_dst=68 cookie:0x4d43240000000064 actions=set_field:0x64->tun_id,goto_table:60',
      'table:10 priority=30,udp,tun_id=0x65,in_port=1,tp_src=68,tp_dst=67 cookie:0x4d43240000000065 actions=LOCAL',
      'table:50 priority=30,udp,tun_id=0x65,in_port=1,tp_src=68,tp_dst=67 cookie:0x4d43240000000065 actions=LOCAL',
      'table:50 priority=12,udp,in_port=LOCAL,nw_src=192.168.20.33,tp_src=67,tp_dst=68 cookie:0x4d43240000000065 actions=set_field:0x65->tun_id,goto_table:60',
    ]);
    expect(grep(dhcp, 'table:60 priority')).toEqual(['table:60 priority=0 cookie:0x4d4311000a630029 actions=output:2']);
  });
});

describe('endpoint stage', () => {
  it('answers ARP for gateway IPs and VM IPs with every reply field, back out of IN_PORT', () => {
    expect(grep(c1, 'arp_tpa=192.168.20.1,')).toEqual([
      'table:50 priority=20,arp,reg2=0x1,arp_tpa=192.168.20.1,arp_op=1 cookie:0x4d43210000000064 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:12:00:00:ff:ff:ff->eth_src,set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:12:00:00:ff:ff:ff->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:192.168.20.1->arp_spa,IN_PORT',
      // The same answer to a unicast request for the gateway MAC (Linux's probes of a stale neighbour), found in the lab.
      'table:10 priority=6,arp,reg2=0x1,dl_dst=12:00:00:ff:ff:ff,arp_tpa=192.168.20.1,arp_op=1 cookie:0x4d43210000000064 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:12:00:00:ff:ff:ff->eth_src,set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:12:00:00:ff:ff:ff->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:192.168.20.1->arp_spa,IN_PORT',
    ]);
    for (const a of c1.filter((f) => formatFlow(f).includes('arp_tpa=192.168.20.1,'))) expect(outputs(a)).toEqual([OFPP.IN_PORT]);
  });

  it('gives the management-only node no flows', () => {
    const cloud: Cloud = { ...referenceCloud(), nodes: [...referenceCloud().nodes, { name: 'mgmt', roles: ['management'], underlayIp: '10.99.0.50' }] };
    const compiled = compileReference(cloud);
    expect(compiled.flows.get('mgmt')).toEqual([]);
    expect(managementFlows(compiled.index, 'mgmt', new Map())).toEqual([]);
  });
});

describe('ports come from the switch', () => {
  it('a VM whose port is unknown gets no local flow on its node, and remote nodes still reach its host', () => {
    const ports = referencePorts(referenceCloud());
    ports.get('compute-1')!.delete('tap-a1');
    const flows = compileReference(referenceCloud(), ports).flows;
    const node = text(flows.get('compute-1')!);
    expect(node.filter((t) => t.includes('02:00:00:00:0a:01') && !t.includes('arp_'))).toEqual([]);
    expect(node.some((t) => t.includes('arp_tpa=192.168.20.10,'))).toBe(true);
    expect(node.filter((t) => t.includes('in_port=3'))).toEqual([]);
    expect(grep(flows.get('compute-2')!, 'tun_id=0x64,dl_dst=02:00:00:00:0a:01')).toHaveLength(1);
  });

  it('no vxlan-int known: no tunnel flows at all', () => {
    const ports = referencePorts(referenceCloud());
    ports.get('compute-1')!.delete('vxlan-int');
    const node = text(compileReference(referenceCloud(), ports).flows.get('compute-1')!);
    expect(node.filter((t) => t.includes('TUN_IPV4_DST'))).toEqual([]);
    expect(node.some((t) => t.includes('tun_id=0x64,dl_dst=02:00:00:00:0a:01 ') && t.endsWith('actions=output:3'))).toBe(true);
  });

  it('uses whatever numbers the switch reports', () => {
    const ports = referencePorts(referenceCloud());
    ports.set('compute-1', new Map([['vxlan-int', 17], ['vxlan-sw', 9], ['tap-a1', 42], ['tap-b1', 5]]));
    const node = text(compileReference(referenceCloud(), ports).flows.get('compute-1')!);
    expect(node).toContain('table:10 priority=15,tun_id=0x64,dl_dst=02:00:00:00:0a:01 cookie:0x4d433100c0a8140a actions=output:42');
    expect(node).toContain('table:60 priority=0 cookie:0x4d4311000a63000b actions=output:9');
    expect(node.filter((t) => /output:[1-4](,|$)/.test(t))).toEqual([]);
  });
});

describe('determinism and sharing', () => {
  it('same model in any order: same flows, same order, byte for byte', () => {
    const cloud = syntheticCloud({ computeNodes: 5, vms: 80 });
    const shuffled: Cloud = { nodes: [...cloud.nodes].reverse(), subnets: [...cloud.subnets].reverse(), vms: [...cloud.vms].reverse() };
    const a = compileCloud(indexCloud(cloud), referencePorts(cloud));
    const b = compileCloud(indexCloud(shuffled), referencePorts(cloud));
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [n, flows] of a) expect(text(b.get(n)!)).toEqual(text(flows));
  });

  it('a remote VM flows are the same objects on every node with the same vxlan-int port', () => {
    const a2OnC1 = c1.filter((f) => formatFlow(f).includes('02:00:00:00:0a:02'));
    const a2OnGw = gw.filter((f) => formatFlow(f).includes('02:00:00:00:0a:02'));
    expect(a2OnC1.length).toBeGreaterThan(0);
    expect(a2OnGw).toEqual(a2OnC1);
    for (let i = 0; i < a2OnC1.length; i++) expect(a2OnGw[i]).toBe(a2OnC1[i]);
  });

  it('compileNode equals the cloud compile for one node', () => {
    expect(compileNode(ref.index, 'dhcp', ref.ports.get('dhcp')!).map(formatFlow)).toEqual(text(dhcp));
  });
});

describe('model validation', () => {
  it('refuses inconsistent clouds with every problem listed', () => {
    const bad: Cloud = {
      nodes: [
        { name: 'c', roles: ['compute'], underlayIp: '10.0.0.1' },
        { name: 's', roles: ['switch', 'compute'], underlayIp: '10.0.0.2' },
      ],
      subnets: [{ name: 'n', cidr: '192.168.0.0/27', gatewayIp: '192.168.1.1', vni: 0 }],
      vms: [
        { name: 'v', subnet: 'n', node: 'c', gateway: 'c', ip: '192.168.0.99', mac: '03:00:00:00:00:01', port: 'p' },
        { name: 'v', subnet: 'x', node: 'nope', gateway: 'gw', ip: '192.168.0.2', mac: '02:00:00:00:00:01', port: 'p' },
      ],
    };
    const problems = validateCloud(bad);
    for (const p of [/duplicate VM name/, /switch role cannot share/, /VNI 0/, /gateway 192.168.1.1 not in/, /not a gateway/, /multicast/, /not in 192.168.0.0\/27/, /unknown subnet/, /unknown node/]) {
      expect(problems.some((x) => p.test(x)), String(p)).toBe(true);
    }
    expect(() => indexCloud(bad)).toThrow(ModelError);
    expect(validateCloud(referenceCloud())).toEqual([]);
  });
});
