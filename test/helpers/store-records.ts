// The store records the store tests start from (test/store/store-backends.test.ts, test/topology/store.test.ts,
// test/topology/security-groups.test.ts): a compute node, a gateway, subnet `a` and VM web-1 on them. A test
// changes what it needs with a spread ({ ...VM, name: 'web-2', ... }).
import type { NodeRecord, SubnetRecord, VmRecord } from '../../src/topology/records.js';

export const NODE: NodeRecord = { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 8, memoryMiB: 8192, createdAt: 't' };
export const GATEWAY: NodeRecord = { name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', sshTarget: 'root@10.0.0.1', cpus: 0, memoryMiB: 0, createdAt: 't' };
export const SUBNET: SubnetRecord = { name: 'a', project: 'default', cidr: '192.168.20.0/27', gatewayIp: '192.168.20.1', vni: 1, createdAt: 't' };
export const VM: VmRecord = {
  name: 'web-1',
  project: 'default',
  subnet: 'a',
  node: 'host-1',
  gateway: 'gw-1',
  flavor: 'small',
  cpus: 1,
  memoryMiB: 2048,
  image: 'images:debian/12',
  ip: '192.168.20.2',
  mac: '02:00:c0:a8:14:02',
  port: 'mcvm1',
  state: 'creating',
  createdAt: 't',
};

/** The record as a store before projects (migration v5) knew it: no `project`. */
export function withoutProject<T extends { readonly project?: string }>(record: T): Omit<T, 'project'> {
  const { project: _project, ...rest } = record;
  return rest;
}
