// Routing domains in the compiled pipeline (issue 22), without OVS: the reference cloud plus a twin project (domain 2)
// with the same CIDRs and VM addresses. What the model accepts, which rows carry reg2, and the DHCP split with
// `dhcp: node` (the DHCP node serves the default domain; the controller every other one's VMs, by port).
import { describe, expect, it } from 'vitest';
import { indexCloud, ModelError } from '../../src/pipeline/cloud-index.js';
import { compileNode } from '../../src/pipeline/compile.js';
import { CompileContext } from '../../src/pipeline/stage.js';
import { referenceCloud, referencePorts } from '../../src/topology/examples.js';
import { validateCloud, type Cloud } from '../../src/topology/model.js';
import { grep } from './fixtures.js';

function twins(): Cloud {
  const cloud = referenceCloud();
  return {
    ...cloud,
    subnets: [...cloud.subnets, { name: 'blue-a', cidr: '192.168.20.0/27', gatewayIp: '192.168.20.1', vni: 200, domain: 2 }],
    vms: [...cloud.vms, { name: 'x1', subnet: 'blue-a', node: 'compute-1', gateway: 'gateway-1', ip: '192.168.20.10', mac: '02:00:00:01:0a:01', port: 'tap-x1', transitIp: '100.64.0.2' }],
  };
}

describe('routing domains', () => {
  it('the same VM address in two domains is fine, twice in one is not; transit addresses are unique', () => {
    expect(validateCloud(twins())).toEqual([]);
    const same: Cloud = { ...twins(), subnets: twins().subnets.map((s) => (s.name === 'blue-a' ? { ...s, domain: 1 } : s)) };
    expect(validateCloud(same)).toContain("duplicate VM IP '1/192.168.20.10'");
    const dupTransit: Cloud = { ...twins(), vms: twins().vms.map((v) => (v.name === 'vm-a2' ? { ...v, transitIp: '100.64.0.2' } : v)) };
    expect(() => indexCloud(dupTransit)).toThrow(ModelError);
  });

  it('with dhcp: node the DHCP node gets the default domain only; the other domain DHCPs through the controller by port', () => {
    const cloud = twins();
    const index = indexCloud(cloud);
    const ports = referencePorts(cloud);
    const ctx = new CompileContext(index, { dhcp: 'node', broadcast: 'head-end' });
    const c1 = compileNode(ctx, 'compute-1', ports.get('compute-1')!);
    const x1 = ports.get('compute-1')!.get('tap-x1')!;
    expect(grep(c1, 'tp_src=68,tp_dst=67').map((t) => t.replace(/ cookie.*actions=/, ' -> '))).toEqual([
      'table:50 priority=15,udp,reg2=0x1,tp_src=68,tp_dst=67 -> load:0xa630029->NXM_NX_TUN_IPV4_DST[],output:1',
      'table:10 priority=11,udp,reg2=0x1,tp_src=68,tp_dst=67 -> load:0xa630029->NXM_NX_TUN_IPV4_DST[],output:1',
      `table:50 priority=15,udp,in_port=${x1},tp_src=68,tp_dst=67 -> meter:2,CONTROLLER:1514`,
      `table:10 priority=11,udp,in_port=${x1},nw_dst=192.168.20.1,tp_src=68,tp_dst=67 -> meter:2,CONTROLLER:1514`,
    ]);
    const dhcp = compileNode(ctx, 'dhcp', ports.get('dhcp')!);
    expect(grep(dhcp, 'tun_id=0xc8', 'tp_src=68')).toEqual([]);
  });

  it('a VM of another domain is admitted with its domain, routed and answered in it only; the gateway rewrites it', () => {
    const cloud = twins();
    const index = indexCloud(cloud);
    const ports = referencePorts(cloud);
    const ctx = new CompileContext(index, { dhcp: 'controller', broadcast: 'head-end' });
    const c2 = compileNode(ctx, 'compute-2', ports.get('compute-2')!);
    expect(grep(c2, 'nw_dst=192.168.20.10 ').map((t) => t.replace(/ cookie.*/, ''))).toEqual(['table:10 priority=10,ip,reg2=0x1,nw_dst=192.168.20.10', 'table:10 priority=10,ip,reg2=0x2,nw_dst=192.168.20.10']);
    expect(grep(c2, 'arp_tpa=192.168.20.10,').map((t) => t.replace(/ cookie.*/, ''))).toEqual([
      'table:50 priority=20,arp,reg2=0x1,arp_tpa=192.168.20.10,arp_op=1',
      'table:50 priority=20,arp,reg2=0x2,arp_tpa=192.168.20.10,arp_op=1',
    ]);
    const gw = compileNode(ctx, 'gateway-1', ports.get('gateway-1')!);
    expect(grep(gw, '100.64.0.2').map((t) => t.replace(/ cookie:0x[0-9a-f]+/, ''))).toEqual([
      'priority=15,ip,in_port=LOCAL,nw_dst=100.64.0.2 actions=set_field:192.168.20.10->ip_dst,load:0x2->NXM_NX_REG2[],goto_table:10',
      'table:50 priority=20,arp,in_port=LOCAL,arp_tpa=100.64.0.2,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:01:0a:01->eth_src,set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:02:00:00:01:0a:01->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:100.64.0.2->arp_spa,IN_PORT',
      'table:10 priority=13,ip,tun_id=0xc8,in_port=1,dl_dst=12:00:00:ff:ff:ff,nw_src=192.168.20.10 actions=set_field:100.64.0.2->ip_src,LOCAL',
    ]);
    // Its subnet has no per-VNI row to the kernel: only its VMs' IPv4, rewritten.
    expect(grep(gw, 'tun_id=0xc8', 'actions=LOCAL')).toEqual([]);
  });
});
