// DHCP answered by the controller (dhcp-punt.ts), on the reference cloud: each local VM's DHCP client messages are
// punted from its own port, metered, whole; nothing goes to the DHCP node any more; a node hosting no VM has no punt
// row; the seed's DHCP-node rows come back with `dhcp: 'node'`.
import { describe, expect, it } from 'vitest';
import { indexCloud } from '../../src/pipeline/cloud-index.js';
import { compileNode } from '../../src/pipeline/compile.js';
import { DHCP_METER, DHCP_PUNT_BYTES } from '../../src/pipeline/dhcp-punt.js';
import { CompileContext } from '../../src/pipeline/stage.js';
import { referenceCloud, referencePorts } from '../../src/topology/examples.js';
import { grep } from './fixtures.js';

const cloud = referenceCloud();
const index = indexCloud(cloud);
const ports = referencePorts(cloud);
const controller = new CompileContext(index, { dhcp: 'controller' });
const node = new CompileContext(index, { dhcp: 'node' });
const compile = (ctx: CompileContext, n: string) => compileNode(ctx, n, ports.get(n)!);

describe('DHCP punt rows (dhcp: controller)', () => {
  it('punts each local VM\'s DHCP from its own port, metered, to the controller; renewals only to its gateway IP', () => {
    const c1 = compile(controller, 'compute-1');
    const rows = grep(c1, 'tp_src=68,tp_dst=67');
    expect(rows).toEqual([
      `table:50 priority=15,udp,in_port=3,tp_src=68,tp_dst=67 cookie:0x4d433200c0a8140a actions=meter:${DHCP_METER.id},CONTROLLER:${DHCP_PUNT_BYTES}`,
      `table:10 priority=11,udp,in_port=3,nw_dst=192.168.20.1,tp_src=68,tp_dst=67 cookie:0x4d433200c0a8140a actions=meter:${DHCP_METER.id},CONTROLLER:${DHCP_PUNT_BYTES}`,
      expect.stringContaining('table:50 priority=15,udp,in_port=4,'),
      expect.stringContaining('table:10 priority=11,udp,in_port=4,'),
    ]);
    expect(rows.join('\n')).not.toMatch(/TUN_IPV4_DST|output/);
  });

  it('leaves nodes without VMs without punt rows, and the DHCP node rows with `dhcp: node`', () => {
    for (const n of ['gateway-1', 'switch']) expect(grep(compile(controller, n), 'CONTROLLER:1514')).toEqual([]);
    expect(grep(compile(node, 'compute-1'), 'tp_src=68,tp_dst=67').join('\n')).toMatch(/TUN_IPV4_DST.*output:1/);
    expect(grep(compile(node, 'compute-1'), 'CONTROLLER:1514')).toEqual([]);
  });
});
