// The controller end to end on the etcd store (e2e.test.ts's setup, shared in test/helpers/controller-e2e.ts): the real composition root with
// `store.backend: etcd` against a real 3-member etcd on loopback, three lab nodes (an OVS instance per node
// namespace), a cloud made through the HTTP API. Every node's installed flows equal its compiled pipeline; one more
// VM reaches the switches with a few flow-mods and its deletion removes them; the VMs are keys in etcd.
// Lab prefix `mcst`. All traffic stays inside namespaces this test made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/daemon/server.js';
import type { OvsInstance } from '../../src/lab/ovs.js';
import { startControllerE2e, type ControllerE2e } from '../helpers/controller-e2e.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';
import { dumpFlows } from './lab.js';

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
let e2e: ControllerE2e | undefined;
let server: Server | undefined;
let labs: ReadonlyMap<string, OvsInstance> = new Map();
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the JSON shape
const api = <T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => e2e!.api<T>(method, path, body);
const compare = (node: string) => e2e!.compare(node);
const allNodesMatch = () => e2e!.allNodesMatch(30_000);

beforeAll(async () => {
  cluster = await startEtcdCluster();
  e2e = await startControllerE2e(PREFIX, NODES, { subnets: ['front', 'back'], vms: VMS }, { store: { backend: 'etcd', etcd: { endpoints: [...cluster.endpoints], prefix: '/mcst-e2e/' } } });
  server = e2e.server;
  labs = e2e.nodes;
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
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
    // The store really is etcd: the VMs are keys under the prefix, by project (layout 4).
    const keys = await fetch(`${cluster!.endpoints[0]}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/mcst-e2e/vms/').toString('base64'), range_end: Buffer.from('/mcst-e2e/vms0').toString('base64'), keys_only: true }),
    }).then((r) => r.json() as Promise<{ kvs?: { key: string }[] }>);
    expect((keys.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString()).sort()).toEqual(VMS.map((v) => `/mcst-e2e/vms/default/${v.name}`).sort());
  }, 180_000);
});
