// Head-end broadcast (head-end.ts) on the reference cloud: the sending node replicates each subnet's broadcast to
// every *other* node hosting it, one vxlan-int output each, never to itself or to nodes without the subnet; receivers
// deliver by tun_id from vxlan-int to their local VMs of that subnet; nothing goes to the switch node any more.
import { describe, expect, it } from 'vitest';
import { indexCloud } from '../../src/pipeline/cloud-index.js';
import { compileNode } from '../../src/pipeline/compile.js';
import { CompileContext } from '../../src/pipeline/stage.js';
import { referenceCloud, referencePorts } from '../../src/topology/examples.js';
import { tunnelIp, type Cloud } from '../../src/topology/model.js';
import { grep, text } from './fixtures.js';

const hex = (ip: string): string => `0x${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('').replace(/^0+/, '')}`;

function compiled(cloud: Cloud) {
  const index = indexCloud(cloud);
  const ports = referencePorts(cloud);
  const ctx = new CompileContext(index, { broadcast: 'head-end' });
  return (n: string) => compileNode(ctx, n, ports.get(n)!);
}

describe('head-end broadcast', () => {
  const cloud = referenceCloud();
  const flows = compiled(cloud);
  const ipOf = (n: string): string => tunnelIp(cloud.nodes.find((x) => x.name === n)!);

  it('replicates each subnet from the sender\'s node to the other hosts of the subnet, never back to itself', () => {
    const c1 = flows('compute-1');
    const rows = grep(c1, 'table:60 priority=5,');
    expect(rows).toHaveLength(2); // one per subnet with VMs here
    for (const r of rows) {
      expect(r).toContain(`load:${hex(ipOf('compute-2'))}->NXM_NX_TUN_IPV4_DST[],output:1`);
      expect(r).not.toContain(hex(ipOf('compute-1')));
      expect(r).not.toMatch(/output:2/); // vxlan-sw
    }
    expect(grep(c1, 'table:60 priority=0')).toEqual([expect.stringMatching(/actions=drop$|cookie:0x[0-9a-f]+$/)]);
  });

  it('delivers broadcast arriving from vxlan-int by tun_id to the local VMs of that subnet only', () => {
    const c2 = flows('compute-2');
    expect(grep(c2, 'table:50 priority=30,tun_id=0x64,in_port=1')).toEqual([expect.stringMatching(/actions=output:3$/)]);
    expect(grep(c2, 'table:50 priority=30,tun_id=0x65,in_port=1')).toEqual([expect.stringMatching(/actions=output:4$/)]);
    expect(grep(c2, 'table:50 priority=30,', 'in_port=2')).toEqual([]);
  });

  it('never sends to a node without the subnet, and follows VMs as they come and go', () => {
    // front only on compute-1: no replication row for it; add a VM of it on compute-2 and there is one.
    const base = referenceCloud();
    const front = base.vms.filter((v) => v.node === 'compute-1').map((v) => v.subnet)[0]!;
    const alone: Cloud = { ...base, vms: base.vms.filter((v) => v.subnet !== front || v.node === 'compute-1') };
    const f1 = compiled(alone);
    const vni = `tun_id=0x${alone.subnets.find((s) => s.name === front)!.vni.toString(16)}`;
    expect(grep(f1('compute-1'), 'table:60', vni)).toEqual([]);
    expect(grep(f1('compute-2'), 'table:50 priority=30,', vni)).toEqual([]);
    const f2 = compiled(base);
    expect(grep(f2('compute-1'), 'table:60', vni)).toHaveLength(1);
  });

  it('builds nothing toward the switch node', () => {
    for (const n of ['compute-1', 'compute-2', 'dhcp']) for (const t of text(flows(n))) expect(t).not.toMatch(/actions=.*output:2\b(?!\d)/);
  });
});
