// The node pipelines' side of the listener's rules: which datapaths have a desired state (`manages`) and which
// addresses a node's datapath id is pinned to (`openflow.pinAddresses`).
import { describe, expect, it } from 'vitest';
import { sshTargetAddress } from '../../src/daemon/network.js';
import { dpidForNode, NodePipelines } from '../../src/daemon/node-pipelines.js';
import type { Cloud } from '../../src/topology/model.js';

const cloud: Cloud = {
  nodes: [
    { name: 'c1', roles: ['compute'], underlayIp: '10.0.0.11' },
    { name: 'gw1', roles: ['gateway'], underlayIp: '10.0.0.21', serviceIp: '203.0.113.7' },
  ],
  subnets: [],
  vms: [],
};

describe('network glue for admission', () => {
  const network = new NodePipelines({ cloud: () => cloud, extraAddresses: (node) => (node === 'c1' ? ['192.0.2.11'] : []) });

  it("manages only the nodes' datapath ids", () => {
    expect(network.manages(dpidForNode('c1'))).toBe(true);
    expect(network.manages(dpidForNode('gw1'))).toBe(true);
    expect(network.manages(0x1234n)).toBe(false);
  });

  it("pins a node's datapath id to its underlay, service and ssh addresses; other ids are not pinned", () => {
    expect(network.pinnedAddresses(dpidForNode('c1'))).toEqual(['10.0.0.11', '192.0.2.11']);
    expect(network.pinnedAddresses(dpidForNode('gw1'))).toEqual(['10.0.0.21', '203.0.113.7']);
    expect(network.pinnedAddresses(0x1234n)).toBeUndefined();
  });

  it.each([
    ['root@10.0.0.5', '10.0.0.5'],
    ['10.0.0.5:2222', '10.0.0.5'],
    ['admin@[2001:db8::5]:22', '2001:db8::5'],
    ['2001:db8::5', '2001:db8::5'],
    ['node1.example.com', undefined],
    ['root@node1:22', undefined],
  ])('sshTargetAddress(%s) = %s', (target, want) => {
    expect(sshTargetAddress(target)).toBe(want);
  });
});
