// The overlay MTU rule (one per cloud: the smallest underlay MTU among the nodes, minus VXLAN's 50 bytes) and the
// check every tunnel-bound row carries for it.
import { describe, expect, it } from 'vitest';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { compileNode } from '../../src/pipeline/compile.js';
import { DEFAULT_OVERLAY_MTU, overlayMtuFor, VXLAN_OVERHEAD } from '../../src/pipeline/mtu.js';
import { CompileContext } from '../../src/pipeline/stage.js';
import { compileReference } from './fixtures.js';

describe('overlayMtuFor', () => {
  it('is the underlay MTU minus 50 (VXLAN over IPv4: 14 + 20 + 8 + 8)', () => {
    expect(VXLAN_OVERHEAD).toBe(14 + 20 + 8 + 8);
    expect(overlayMtuFor(['a', 'b'], 1500)).toBe(1450);
    expect(DEFAULT_OVERLAY_MTU).toBe(1450);
    expect(overlayMtuFor(['a', 'b'], 9000)).toBe(8950);
  });

  it('takes the smallest node: one node with a smaller underlay lowers it for the whole cloud', () => {
    expect(overlayMtuFor(['a', 'b', 'c'], 9000, { b: 1500 })).toBe(1450);
    expect(overlayMtuFor(['a', 'b'], 1500, { a: 9000, b: 9000 })).toBe(8950);
    // An override for a node that is not in the cloud (yet, or any more) changes nothing.
    expect(overlayMtuFor(['a'], 9000, { gone: 1280 })).toBe(8950);
  });
});

describe('the check on tunnel-bound rows', () => {
  const ref = compileReference();
  const rows = (mtu: number) =>
    compileNode(new CompileContext(ref.index, { overlayMtu: mtu }), 'compute-1', ref.ports.get('compute-1')!)
      .map(formatFlow)
      .filter((t) => t.includes('check_pkt_larger'));

  it('compares the whole frame: overlay MTU + the 14-byte Ethernet header', () => {
    expect(rows(1450).every((t) => t.includes('check_pkt_larger(1464)->NXM_NX_REG0[0],goto_table:20'))).toBe(true);
    expect(rows(1400).every((t) => t.includes('check_pkt_larger(1414)->'))).toBe(true);
  });

  it('is on every L2 and routed row to a remote VM and every egress row to a remote gateway of the node', () => {
    // compute-1: 2 remote VMs (L2 + routed each) and 2 local VMs bound to gateway-1 on another node.
    expect(rows(1450).length).toBe(2 * 2 + 2);
  });
});
