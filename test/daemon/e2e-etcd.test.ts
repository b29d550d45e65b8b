// The controller end to end on the etcd store (a lighter copy of e2e.test.ts): the real composition root with
// `store.backend: etcd` against a real 3-member etcd on loopback, three lab nodes (an OVS instance per node
// namespace), a cloud made through the HTTP API. Every node's installed flows equal its compiled pipeline; one more
// VM reaches the switches with a few flow-mods and its deletion removes them; the VMs are keys in etcd.
// Lab prefix `mcst`. All traffic stays inside namespaces this test made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/daemon/server.js';
import { callApi } from '../../src/lab/cloud.js';
import type { OvsInstance } from '../../src/lab/ovs.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';
import { waitFor } from '../helpers/wait.js';
import { canonicalFlows, dumpFlows, startLabController, type LabController } from './lab.js';

const NODES = [
  { name: 'mcst-gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', az: 'AZ-1' },
  { name: 'mcst-host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 32, memoryMiB: 48 * 1024 },
  { name: 'mcst-host-2', roles: ['compute'], underlayIp: '10.0.0.12', az: 'AZ-1', cpus: 32, memoryMiB: 48 * 1024 },
] as const;
const VMS = [
  { name: 'web-1', subnet: 'front', flavor: 'small', image: 'images:debian/12', node: 'mcst-host-1' },
  { name: 'web-2', subnet: 'front', flavor: 'small', image: 'images:debian/12', node: 'mcst-host-2' },
  { name: 'db-1', subnet: 'back', flavor: 'tiny', image: 'images:alpine/3.20' },
];
const PREFIX = 'mcst';

let cluster: EtcdCluster | undefined;
let lab: LabController | undefined;
let server: Server | undefined;
let labs: ReadonlyMap<string, OvsInstance> = new Map();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the JSON shape
const api = <T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => callApi<T>(server!, method, path, body);

async function compare(node: string): Promise<{ installed: string[]; expected: string[] }> {
  const ovs = labs.get(node)!;
  const dp = server!.network.datapathOf(node);
  if (!dp) return { installed: ['(not connected)'], expected: [] };
  const expected = await canonicalFlows(ovs, server!.network.compile(node, dp).map(formatFlow));
  const installed = (await dumpFlows(ovs, 'br0')).filter((l) => l.startsWith('cookie=0x4d43'));
  return { installed, expected };
}

const same = (r: { installed: string[]; expected: string[] }): boolean =>
  r.expected.length > 0 && r.installed.length === r.expected.length && r.installed.every((l, i) => l === r.expected[i]);

async function allNodesMatch(): Promise<void> {
  for (const n of NODES) {
    const r = await waitFor(`${n.name}'s flows to equal its pipeline`, () => compare(n.name), same, 30_000);
    expect(r.installed, n.name).toEqual(r.expected);
  }
}

beforeAll(async () => {
  cluster = await startEtcdCluster();
  lab = await startLabController(PREFIX, NODES, { store: { backend: 'etcd', etcd: { endpoints: [...cluster.endpoints], prefix: '/mcst-e2e/' } } });
  server = lab.server;
  labs = lab.nodes;
  for (const name of ['front', 'back']) expect((await api('POST', '/api/v1/subnets', { name, prefixLength: 27 })).status).toBe(201);
  for (const vm of VMS) {
    const res = await api('POST', '/api/v1/vms', vm);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
}, 120_000);

afterAll(async () => {
  await lab?.stop();
  await cluster?.destroy();
}, 60_000);

describe('the controller on the etcd store, with real switches', () => {
  it('answers readyz, and installs exactly each node\'s compiled pipeline', async () => {
    const ready = await api('GET', '/readyz');
    expect(ready.status).toBe(200);
    await allNodesMatch();
  }, 120_000);

  it('one more VM reaches the switches through etcd with a few flow-mods; deleting it removes its flows', async () => {
    const mods = new Map<string, number>();
    const count = (dp: { dpid: bigint }, stats: { flowMods: number }): void => {
      const node = server!.network.nodeOf(dp.dpid)!;
      mods.set(node, (mods.get(node) ?? 0) + stats.flowMods);
    };
    let installedBefore = 0;
    for (const n of NODES) installedBefore += (await compare(n.name)).installed.length;
    server!.controller.on('synced', count);
    const res = await api<{ vm: { ip: string; mac: string } }>('POST', '/api/v1/vms', { name: 'extra', subnet: 'front', flavor: 'tiny', image: 'images:alpine/3.20', node: 'mcst-host-1' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    await allNodesMatch();
    server!.controller.off('synced', count);
    const total = [...mods.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    // Changes, not a reinstall of the nodes' pipelines.
    expect(total, JSON.stringify(Object.fromEntries(mods))).toBeLessThan(installedBefore / 4);
    const { ip, mac } = res.json.vm;
    const mentions = async (): Promise<number> => {
      let n = 0;
      for (const ovs of labs.values()) n += (await dumpFlows(ovs, 'br0')).filter((l) => l.includes(ip) || l.includes(mac)).length;
      return n;
    };
    expect(await mentions()).toBeGreaterThan(0);
    expect((await api('DELETE', '/api/v1/vms/extra')).status).toBe(200);
    await allNodesMatch();
    expect(await mentions()).toBe(0);
    console.log(`etcd store: extra VM flow-mods per node ${JSON.stringify(Object.fromEntries(mods))}`);
    // The store really is etcd: the VMs are keys under the prefix.
    const keys = await fetch(`${cluster!.endpoints[0]}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/mcst-e2e/vms/').toString('base64'), range_end: Buffer.from('/mcst-e2e/vms0').toString('base64'), keys_only: true }),
    }).then((r) => r.json() as Promise<{ kvs?: { key: string }[] }>);
    expect((keys.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString()).sort()).toEqual(VMS.map((v) => `/mcst-e2e/vms/${v.name}`).sort());
  }, 180_000);
});
