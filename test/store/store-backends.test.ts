// One store suite, run against both backends: SQLite (a file) and etcd (a real 3-member cluster on loopback, one
// per file; each test gets a key prefix of its own). Every operation must mean the same on both. Then, on etcd only:
// a member killed changes nothing; without quorum writes fail with StoreUnavailableError and reads still answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateVm } from '../../src/cloud/allocation.js';
import { allocateFloatingIp } from '../../src/cloud/floating-ips.js';
import { openEtcdStore } from '../../src/topology/etcd-store.js';
import { toCloud, type NodeRecord, type SubnetRecord, type VmRecord } from '../../src/topology/records.js';
import { openSqliteStore } from '../../src/topology/sqlite-store.js';
import { StoreUnavailableError, type CloudStore, type TokenStore } from '../../src/topology/store.js';
import { makeHarness, type Harness } from '../api/harness.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';
import { GATEWAY, NODE, SUBNET, VM } from '../helpers/store-records.js';

type Store = CloudStore & TokenStore;

/** A fresh, empty store; every `open` is another instance (another "controller") on the same data. */
interface Backend {
  open(): Promise<Store>;
}

const node: NodeRecord = { ...NODE, cpus: 100_000, memoryMiB: 1 << 30 };
const gw = GATEWAY;
const subnet = SUBNET;
const big: SubnetRecord = { name: 'big', cidr: '10.200.0.0/22', gatewayIp: '10.200.0.1', vni: 2, createdAt: 't' };
const vm = VM;

let cluster: EtcdCluster | undefined;
let dir: string;
const opened: Store[] = [];
let prefixes = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'minicloud-stores-'));
  cluster = await startEtcdCluster();
}, 60_000);

afterAll(async () => {
  for (const s of opened) s.close();
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const track = (s: Store): Store => (opened.push(s), s);

const backends: readonly [string, () => Backend][] = [
  [
    'sqlite',
    () => {
      const path = join(dir, `s${prefixes++}.db`);
      return { open: async () => track(openSqliteStore(path)) };
    },
  ],
  [
    'etcd',
    () => {
      const prefix = `/mc-test-${prefixes++}/`;
      return { open: async () => track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 })) };
    },
  ],
];

describe.each(backends)('store on %s', (_name, backend) => {
  it('round-trips records, filters VMs, bumps the revision once per write', async () => {
    const b = backend();
    const store = await b.open();
    expect(store.read((r) => [r.listNodes(), r.revision()])).toEqual([[], 0]);
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
    });
    expect(store.read((r) => r.revision())).toBe(1);
    expect(store.read((r) => r.getVm({ name: 'web-1' }))).toEqual({ ...vm, instance: vm.name, securityGroups: ['default'] });
    expect(store.read((r) => r.getNode('gw-1'))).toEqual(gw);
    expect(store.read((r) => r.listNodes().map((n) => n.name))).toEqual(['gw-1', 'host-1']);
    expect(store.read((r) => [r.listVms({ node: 'host-1' }).length, r.listVms({ subnet: { name: 'a' } }).length, r.listVms({ gateway: 'gw-1' }).length, r.listVms({ node: 'gw-1' }).length])).toEqual([1, 1, 1, 0]);
    await store.write((w) => w.setVmState({ name: 'web-1' }, 'error', 'boom'));
    expect(store.read((r) => r.getVm({ name: 'web-1' }))).toMatchObject({ state: 'error', error: 'boom' });
    await store.write((w) => w.setVmState({ name: 'web-1' }, 'running'));
    expect(store.read((r) => r.getVm({ name: 'web-1' }))).toEqual({ ...vm, instance: vm.name, state: 'running', securityGroups: ['default'] });
    expect(await store.write((w) => [w.deleteVm({ name: 'web-1' }), w.deleteVm({ name: 'web-1' })])).toEqual([true, false]);
    expect(store.read((r) => [r.listVms(), r.revision()])).toEqual([[], 4]);
    await store.write((w) => w.setMeta('k', 'v'));
    expect(store.read((r) => r.getMeta('k'))).toBe('v');
    // A second instance on the same data sees it all.
    const other = await b.open();
    expect(other.read((r) => [r.records().nodes.length, r.getMeta('k'), r.revision()])).toEqual([2, 'v', 5]);
  });

  it("rebinds a VM's gateway (failover): durable, seen by another instance, refused towards no node", async () => {
    const b = backend();
    const store = await b.open();
    const gw2: NodeRecord = { ...gw, name: 'gw-2', underlayIp: '10.0.0.2', serviceIp: '203.0.113.2' };
    await store.write((w) => {
      for (const n of [node, gw, gw2]) w.insertNode(n);
      w.insertSubnet(subnet);
      w.insertVm(vm);
      w.insertVm({ ...vm, name: 'web-2', ip: '192.168.20.3', mac: '02:00:c0:a8:14:03', port: 'mcvm2' });
    });
    expect(await store.write((w) => [w.setVmGateway({ name: 'web-1' }, 'gw-2'), w.setVmGateway({ name: 'nope' }, 'gw-2')])).toEqual([true, false]);
    expect(store.read((r) => [r.listVms({ gateway: 'gw-1' }).map((v) => v.name), r.listVms({ gateway: 'gw-2' }).map((v) => v.name)])).toEqual([['web-2'], ['web-1']]);
    expect(store.read((r) => r.getVm({ name: 'web-1' }))).toEqual({ ...vm, instance: vm.name, gateway: 'gw-2', securityGroups: ['default'] });
    await expect(store.write((w) => w.setVmGateway({ name: 'web-2' }, 'gw-9'))).rejects.toThrow(/FOREIGN KEY/);
    expect(store.read((r) => r.getVm({ name: 'web-2' })?.gateway)).toBe('gw-1');
    // The old gateway can go once nothing is bound to it.
    await store.write((w) => w.setVmGateway({ name: 'web-2' }, 'gw-2'));
    expect(await store.write((w) => w.deleteNode('gw-1'))).toBe(true);
    const other = await b.open();
    expect(other.read((r) => r.listVms().map((v) => [v.name, v.gateway]))).toEqual([
      ['web-1', 'gw-2'],
      ['web-2', 'gw-2'],
    ]);
  });

  it('a write that throws leaves nothing behind', async () => {
    const store = await backend().open();
    await expect(
      store.write((w) => {
        w.insertNode(node);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(store.read((r) => [r.listNodes(), r.revision()])).toEqual([[], 0]);
  });

  it('refuses duplicate IP, MAC, port, VNI and dangling references', async () => {
    const store = await backend().open();
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
    });
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-2', mac: '02:00:00:00:00:09', port: 'mcvm2' }))).rejects.toThrow(/UNIQUE.*ip/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-3', ip: '192.168.20.3', port: 'mcvm3' }))).rejects.toThrow(/UNIQUE.*mac/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-4', ip: '192.168.20.4', mac: '02:00:00:00:00:04' }))).rejects.toThrow(/UNIQUE.*port/);
    await expect(store.write((w) => w.insertSubnet({ ...subnet, name: 'b', cidr: '192.168.20.32/27' }))).rejects.toThrow(/UNIQUE.*vni/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-5', ip: '192.168.20.5', mac: '02:00:00:00:00:05', port: 'p5', subnet: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteNode('host-1'))).rejects.toThrow(/FOREIGN KEY/);
    expect(store.read((r) => [r.listVms().length, r.listSubnets().length, r.revision()])).toEqual([1, 1, 1]);
  });

  it('routing domains: default is 1, never reused; addresses unique per project, transit addresses across the cloud', async () => {
    const store = await backend().open();
    expect(store.read((r) => r.getProject('default')?.domain)).toBe(1);
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertProject({ name: 'blue', description: '', quotas: {}, createdAt: 't' });
      w.insertProject({ name: 'green', description: '', quotas: {}, createdAt: 't' });
    });
    expect(store.read((r) => r.listProjects().map((p) => [p.name, p.domain]))).toEqual([['blue', 2], ['default', 1], ['green', 3]]);
    await store.write((w) => w.deleteProject('green'));
    await store.write((w) => w.insertProject({ name: 'green', description: '', quotas: {}, createdAt: 't' }));
    expect(store.read((r) => r.getProject('green')?.domain)).toBe(4);
    // The same block and the same VM address in two projects; neither twice in one.
    await store.write((w) => {
      w.insertSubnet(subnet);
      w.insertSubnet({ ...subnet, name: 'b', project: 'blue', vni: 7 });
      w.insertSecurityGroup({ name: 'blue-default', description: '', createdAt: 't', project: 'blue' });
      w.insertVm(vm);
      w.insertVm({ ...vm, name: 'web-b', project: 'blue', subnet: 'b', mac: '02:00:00:00:00:0b', port: 'mcvm9', transitIp: '100.64.0.2', securityGroups: ['blue-default'] });
    });
    expect(store.read((r) => r.getVm({ project: 'blue', name: 'web-b' }))).toMatchObject({ ip: vm.ip, transitIp: '100.64.0.2', project: 'blue' });
    expect(store.read((r) => r.records().projects?.map((p) => p.name))).toEqual(['blue', 'default', 'green']);
    await expect(store.write((w) => w.insertSubnet({ ...subnet, name: 'b2', project: 'blue', vni: 8 }))).rejects.toThrow(/UNIQUE.*cidr/);
    await expect(
      store.write((w) => w.insertVm({ ...vm, name: 'web-b2', project: 'blue', subnet: 'b', mac: '02:00:00:00:00:0c', port: 'mcvm10', transitIp: '100.64.0.3', securityGroups: ['blue-default'] })),
    ).rejects.toThrow(/UNIQUE.*ip/);
    await expect(
      store.write((w) => w.insertVm({ ...vm, name: 'web-b3', project: 'blue', subnet: 'b', ip: '192.168.20.9', mac: '02:00:00:00:00:0d', port: 'mcvm11', transitIp: '100.64.0.2', securityGroups: ['blue-default'] })),
    ).rejects.toThrow(/UNIQUE.*transit_ip/);
    await expect(store.write((w) => w.insertProject({ name: 'red', description: '', quotas: {}, createdAt: 't', domain: 2 }))).rejects.toThrow(/UNIQUE/);
    // A VM made before routing domains gets its transit address later.
    expect(await store.write((w) => w.setVmTransitIp({ name: 'web-1' }, '100.64.0.9'))).toBe(true);
    expect(store.read((r) => r.getVm({ name: 'web-1' })?.transitIp)).toBe('100.64.0.9');
  });

  it('sequences never repeat, even after what used one is gone', async () => {
    const store = await backend().open();
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await store.write((w) => w.nextSequence('vm-port')));
    expect(got).toEqual([1, 2, 3]);
    expect(await store.write((w) => w.nextSequence('other'))).toBe(1);
  });

  it('security groups: default at start, ids never reused, referenced groups kept, memberships', async () => {
    const store = await backend().open();
    const start = store.read((r) => [r.listSecurityGroups().map((g) => [g.name, g.rules.map((x) => [x.direction, x.remoteCidr ?? x.remoteGroup])]), r.revision()]);
    expect(start).toEqual([[['default', [['egress', '0.0.0.0/0'], ['ingress', 'default']]]], 0]);
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
    });
    const web = await store.write((w) => w.insertSecurityGroup({ name: 'web', description: '', createdAt: 't' }));
    const db = await store.write((w) => w.insertSecurityGroup({ name: 'db', description: 'databases', createdAt: 't' }));
    expect(db).toBe(web + 1);
    const r1 = await store.write((w) => w.insertSecurityRule({ name: 'db' }, { direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' }, 't'));
    await store.write((w) => {
      w.insertVm({ ...vm, name: 'web-1', securityGroups: ['web'] });
      w.insertVm({ ...vm, name: 'db-1', ip: '192.168.20.3', mac: '02:00:c0:a8:14:03', port: 'mcvm2', securityGroups: ['web', 'db'] });
    });
    expect(store.read((r) => r.listVms().map((v) => [v.name, v.securityGroups]))).toEqual([
      ['db-1', ['db', 'web']],
      ['web-1', ['web']],
    ]);
    await expect(store.write((w) => w.deleteSecurityGroup({ name: 'web' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'x', ip: '192.168.20.4', mac: '02:00:c0:a8:14:04', port: 'mcvm3', securityGroups: ['nope'] }))).rejects.toThrow(
      /FOREIGN KEY/,
    );
    await store.write((w) => w.setVmSecurityGroups({ name: 'db-1' }, []));
    expect(store.read((r) => r.getVm({ name: 'db-1' }))?.securityGroups).toEqual(['default']);
    await store.write((w) => w.deleteVm({ name: 'web-1' }));
    expect(await store.write((w) => [w.deleteSecurityRule({ name: 'db' }, r1), w.deleteSecurityRule({ name: 'db' }, r1)])).toEqual([true, false]);
    expect(await store.write((w) => w.deleteSecurityGroup({ name: 'web' }))).toBe(true);
    const r2 = await store.write((w) => w.insertSecurityRule({ name: 'db' }, { direction: 'egress', protocol: 'udp', remoteCidr: '10.0.0.0/8' }, 't'));
    expect(r2).toBeGreaterThan(r1);
    expect(store.read((r) => r.records().securityGroups?.map((g) => g.name))).toEqual(['db', 'default']);
  });

  it('projects: default owns what has no project, names unique, records of a missing project refused, owners kept', async () => {
    const store = await backend().open();
    expect(store.read((r) => r.listProjects().map((p) => [p.name, p.overlay, p.quotas]))).toEqual([['default', undefined, {}]]);
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
      w.insertProject({ name: 'alpha', description: 'team a', overlay: '10.8.0.0/16', quotas: { vms: 2, subnets: 1 }, createdAt: 't' });
    });
    expect(store.read((r) => [r.getSubnet({ name: 'a' })?.project, r.getVm({ name: 'web-1' })?.project, r.getSecurityGroup({ name: 'default' })?.project])).toEqual(['default', 'default', 'default']);
    await expect(store.write((w) => w.insertProject({ name: 'alpha', description: '', quotas: {}, createdAt: 't' }))).rejects.toThrow(/UNIQUE/);
    await expect(store.write((w) => w.insertSubnet({ ...big, project: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.insertSecurityGroup({ name: 'x', description: '', createdAt: 't', project: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => {
      w.insertSubnet({ ...big, project: 'alpha' });
      w.insertSecurityGroup({ name: 'alpha-default', description: '', createdAt: 't', project: 'alpha' });
      w.insertVm({ ...vm, name: 'a-1', project: 'alpha', subnet: 'big', ip: '10.200.0.2', mac: '02:00:0a:c8:00:02', port: 'mcvm2', securityGroups: ['alpha-default'] });
    });
    expect(store.read((r) => r.listVms({ project: 'alpha' }).map((v) => [v.name, v.project, v.securityGroups]))).toEqual([['a-1', 'alpha', ['alpha-default']]]);
    expect(store.read((r) => r.listVms({ project: 'default' }).map((v) => v.name))).toEqual(['web-1']);
    expect(store.read((r) => r.listVms({ project: 'alpha', node: 'gw-1' }))).toEqual([]);
    expect(store.read((r) => r.listSecurityGroups().map((g) => [g.name, g.project]))).toEqual([
      ['alpha-default', 'alpha'],
      ['default', 'default'],
    ]);
    expect(await store.write((w) => w.updateProject({ name: 'alpha', description: 'team a', quotas: { vms: 5 }, createdAt: 't' }))).toBe(true);
    expect(store.read((r) => r.getProject('alpha'))).toEqual({ name: 'alpha', description: 'team a', quotas: { vms: 5 }, createdAt: 't', domain: 2 });
    // A project that owns a subnet, VM or group is kept.
    await expect(store.write((w) => w.deleteProject('alpha'))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => w.deleteVm({ project: 'alpha', name: 'a-1' }));
    await expect(store.write((w) => w.deleteProject('alpha'))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => [w.deleteSubnet({ project: 'alpha', name: 'big' }), w.deleteSecurityGroup({ project: 'alpha', name: 'alpha-default' })]);
    expect(await store.write((w) => [w.deleteProject('alpha'), w.deleteProject('alpha')])).toEqual([true, false]);
    expect(store.read((r) => r.listProjects().map((p) => p.name))).toEqual(['default']);
  });

  it('names are unique per project: keys, references and instance names resolve within the project', async () => {
    const store = await backend().open();
    const alpha = { project: 'alpha' } as const;
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertProject({ name: 'alpha', description: '', quotas: {}, createdAt: 't' });
      w.insertSubnet(subnet);
      w.insertSubnet({ ...subnet, ...alpha, vni: 7 });
      w.insertSubnet({ ...big, name: 'only-default' });
      w.insertSecurityGroup({ name: 'web', description: 'default', createdAt: 't' });
      w.insertSecurityGroup({ name: 'web', description: 'alpha', createdAt: 't', ...alpha });
      w.insertSecurityGroup({ name: 'alpha-default', description: '', createdAt: 't', ...alpha });
      w.insertVm({ ...vm, securityGroups: ['web'] });
      w.insertVm({ ...vm, ...alpha, mac: '02:00:00:00:0a:02', port: 'mcvm9', transitIp: '100.64.0.2', securityGroups: ['web'] });
    });
    // Two of each name, one per project; lists in name order, then project.
    expect(store.read((r) => r.listVms().map((v) => [v.name, v.project, v.instance, v.securityGroups]))).toEqual([
      ['web-1', 'alpha', 'alpha--web-1', ['web']],
      ['web-1', 'default', 'web-1', ['web']],
    ]);
    expect(store.read((r) => r.listSubnets().map((x) => [x.name, x.project]))).toEqual([['a', 'alpha'], ['a', 'default'], ['only-default', 'default']]);
    expect(store.read((r) => [r.getSecurityGroup({ name: 'web' })?.description, r.getSecurityGroup({ ...alpha, name: 'web' })?.description])).toEqual(['default', 'alpha']);
    expect(store.read((r) => [r.getVm({ ...alpha, name: 'web-1' })?.mac, r.getVm({ name: 'web-1' })?.mac, r.getVm({ project: 'nope', name: 'web-1' })])).toEqual(['02:00:00:00:0a:02', vm.mac, undefined]);
    expect(store.read((r) => r.listVms({ subnet: { ...alpha, name: 'a' } }).map((v) => v.project))).toEqual(['alpha']);
    // Within a project a name is taken once; the instance name is taken once across the cloud.
    await expect(store.write((w) => w.insertVm({ ...vm, ...alpha, ip: '192.168.20.9', mac: '02:00:00:00:0a:09', port: 'mcvm10' }))).rejects.toThrow(/UNIQUE/);
    await expect(store.write((w) => w.insertSubnet({ ...big, ...alpha, name: 'a', vni: 8 }))).rejects.toThrow(/UNIQUE/);
    await expect(store.write((w) => w.insertSecurityGroup({ name: 'web', description: '', createdAt: 't', ...alpha }))).rejects.toThrow(/UNIQUE/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'alpha--web-1', ip: '192.168.20.9', mac: '02:00:00:00:0a:09', port: 'mcvm10' }))).rejects.toThrow(/UNIQUE/);
    // References resolve in the record's project: another project's subnet, group or VM of that name is not one.
    const inAlpha = { ...vm, ...alpha, name: 'web-2', ip: '192.168.20.9', mac: '02:00:00:00:0a:09', port: 'mcvm10', transitIp: '100.64.0.3' };
    await expect(store.write((w) => w.insertVm({ ...inAlpha, subnet: 'only-default', securityGroups: ['web'] }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.insertVm({ ...inAlpha, securityGroups: ['default'] }))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => w.insertSecurityGroup({ name: 'db', description: '', createdAt: 't' }));
    await expect(store.write((w) => w.insertSecurityRule({ ...alpha, name: 'web' }, { direction: 'ingress', protocol: 'any', remoteGroup: 'db' }, 't'))).rejects.toThrow(/FOREIGN KEY/);
    const ruleId = await store.write((w) => w.insertSecurityRule({ ...alpha, name: 'web' }, { direction: 'ingress', protocol: 'any', remoteGroup: 'web' }, 't'));
    expect(store.read((r) => [r.getSecurityGroup({ name: 'web' })?.rules, r.getSecurityGroup({ ...alpha, name: 'web' })?.rules.map((x) => x.id)])).toEqual([[], [ruleId]]);
    await expect(store.write((w) => w.setVmSecurityGroups({ ...alpha, name: 'web-1' }, ['db']))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => w.insertFloatingIp({ address: '203.0.113.10', gateway: 'gw-1', ...alpha, createdAt: 't' }));
    await store.write((w) => w.insertVm({ ...vm, name: 'only-default-vm', ip: '192.168.20.5', mac: '02:00:00:00:0a:05', port: 'mcvm11' }));
    await expect(store.write((w) => w.setFloatingIpVm('203.0.113.10', 'only-default-vm'))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => w.setFloatingIpVm('203.0.113.10', 'web-1'));
    expect(store.read((r) => [r.listFloatingIps({ vm: { ...alpha, name: 'web-1' } }).length, r.listFloatingIps({ vm: { name: 'web-1' } }).length])).toEqual([1, 0]);
    // The model the pipeline compiles names them apart.
    expect(toCloud(store.read((r) => r.records())).vms.map((v) => [v.name, v.subnet, v.securityGroups])).toEqual([
      ['only-default-vm', 'a', ['default']],
      ['alpha/web-1', 'alpha/a', ['alpha/web']],
      ['web-1', 'a', ['web']],
    ]);
    // Deleting one leaves its twin.
    await store.write((w) => w.setFloatingIpVm('203.0.113.10', undefined));
    expect(await store.write((w) => w.deleteVm({ ...alpha, name: 'web-1' }))).toBe(true);
    expect(store.read((r) => r.listVms().map((v) => [v.name, v.project]))).toEqual([['only-default-vm', 'default'], ['web-1', 'default']]);
    expect(await store.write((w) => [w.deleteSecurityRule({ name: 'web' }, ruleId), w.deleteSecurityRule({ ...alpha, name: 'web' }, ruleId)])).toEqual([false, true]);
    expect(await store.write((w) => w.deleteSubnet({ ...alpha, name: 'a' }))).toBe(true);
    expect(store.read((r) => r.getSubnet({ name: 'a' })?.vni)).toBe(subnet.vni);
  });

  it('floating IPs: address order, filters, one per address and per VM, references held, attach and detach', async () => {
    const store = await backend().open();
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
      w.insertProject({ name: 'alpha', description: '', quotas: {}, createdAt: 't' });
    });
    const fip = { address: '203.0.113.10', gateway: 'gw-1', project: 'default', createdAt: 't' };
    await store.write((w) => {
      w.insertFloatingIp({ ...fip, address: '203.0.113.100' });
      w.insertFloatingIp(fip);
      w.insertFloatingIp({ ...fip, address: '203.0.113.9', project: 'alpha' });
    });
    // Numeric address order, not text order.
    expect(store.read((r) => r.listFloatingIps().map((f) => f.address))).toEqual(['203.0.113.9', '203.0.113.10', '203.0.113.100']);
    expect(store.read((r) => r.listFloatingIps({ project: 'alpha' }).map((f) => f.address))).toEqual(['203.0.113.9']);
    expect(store.read((r) => r.records().floatingIps?.length)).toBe(3);
    await expect(store.write((w) => w.insertFloatingIp({ ...fip, project: 'alpha' }))).rejects.toThrow(/UNIQUE/);
    await expect(store.write((w) => w.insertFloatingIp({ ...fip, address: '203.0.113.11', gateway: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.insertFloatingIp({ ...fip, address: '203.0.113.11', project: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.setFloatingIpVm('203.0.113.10', 'nope'))).rejects.toThrow(/FOREIGN KEY/);
    expect(await store.write((w) => [w.setFloatingIpVm('203.0.113.10', 'web-1'), w.setFloatingIpVm('203.0.113.1', 'web-1')])).toEqual([true, false]);
    expect(store.read((r) => r.getFloatingIp('203.0.113.10'))).toEqual({ ...fip, vm: 'web-1' });
    expect(store.read((r) => r.listFloatingIps({ vm: { name: 'web-1' } }).map((f) => f.address))).toEqual(['203.0.113.10']);
    // One floating IP per VM; and the VM, its gateway and the projects are held while a floating IP names them.
    await expect(store.write((w) => w.setFloatingIpVm('203.0.113.100', 'web-1'))).rejects.toThrow(/UNIQUE/);
    await expect(store.write((w) => w.deleteVm({ name: 'web-1' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteNode('gw-1'))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteProject('alpha'))).rejects.toThrow(/FOREIGN KEY/);
    await store.write((w) => w.setFloatingIpVm('203.0.113.10', undefined));
    expect(store.read((r) => r.getFloatingIp('203.0.113.10'))).toEqual(fip);
    expect(await store.write((w) => [w.deleteFloatingIp('203.0.113.9'), w.deleteFloatingIp('203.0.113.9')])).toEqual([true, false]);
    expect(await store.write((w) => w.deleteProject('alpha'))).toBe(true);
    await store.write((w) => w.deleteVm({ name: 'web-1' }));
    expect(store.read((r) => r.listFloatingIps().map((f) => [f.address, f.vm]))).toEqual([['203.0.113.10', undefined], ['203.0.113.100', undefined]]);
  });

  it('two instances allocating floating IPs in parallel never hand out one address twice, and stop at the pool and the quota', async () => {
    const b = backend();
    const [one, two] = [await b.open(), await b.open()];
    await one.write((w) => {
      w.insertNode(gw);
      w.insertProject({ name: 'alpha', description: '', quotas: { floatingIps: 25 }, createdAt: 't' });
    });
    const pools = [{ gateway: 'gw-1', outside: '203.0.113.1/24', addresses: ['203.0.113.10-203.0.113.29', '203.0.113.64/29'] }];
    const create = (store: Store, project: string): Promise<string> =>
      store.write((w) => {
        const f = allocateFloatingIp(w, pools, {}, { project }, () => new Date(0));
        w.insertFloatingIp(f);
        return f.address;
      });
    // Two rounds, each in parallel through both instances: alpha's 30 (5 past its quota), then default's 10 (7 past
    // the pool). One round of all 40 would make the refusals depend on which project's creates won the races.
    const round = (n: number, project: string) => Promise.allSettled(Array.from({ length: n }, (_, i) => create(i % 2 === 0 ? one : two, project)));
    const results = [...(await round(30, 'alpha')), ...(await round(10, 'default'))];
    const got = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const why = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    // 28 addresses in the pool; alpha may hold 25 of them.
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBe(28);
    expect(why.some((m) => /quota of 25 floating IPs/.test(m))).toBe(true);
    expect(why.some((m) => /used up \(28 addresses\)/.test(m))).toBe(true);
    for (const s of [one, two]) {
      await until(() => s.read((r) => r.listFloatingIps().length) === 28);
      expect(s.read((r) => r.listFloatingIps({ project: 'alpha' }).length)).toBe(25);
    }
  }, 60_000);

  it('scoped API tokens keep their project and role', async () => {
    const store = await backend().open();
    const token = { id: 'cafe', name: 'ci', role: 'member' as const, project: 'default', hash: 'ee'.repeat(32), createdAt: 't' };
    await store.writeTokens((w) => w.insertApiToken(token));
    await store.writeTokens((w) => w.insertApiToken({ ...token, id: 'beef', name: 'look', role: 'viewer' }));
    expect(store.readTokens((r) => r.listApiTokens())).toEqual([token, { ...token, id: 'beef', name: 'look', role: 'viewer' }]);
  });

  it('keeps pending node removals, one per node name', async () => {
    const store = await backend().open();
    const pending = { node: gw, undo: '{"x":1}', requestedAt: 't0', attempts: 0, nextAttemptAt: 't0' };
    await store.write((w) => w.putNodeRemoval(pending));
    await store.write((w) => w.putNodeRemoval({ ...pending, attempts: 2, lastError: 'ssh: connect ECONNREFUSED', nextAttemptAt: 't2' }));
    await store.write((w) => w.putNodeRemoval({ node, undo: '{}', requestedAt: 't1', attempts: 0, nextAttemptAt: 't1' }));
    expect(store.read((r) => r.listNodeRemovals().map((x) => [x.node.name, x.attempts]))).toEqual([['gw-1', 2], ['host-1', 0]]);
    expect(store.read((r) => r.getNodeRemoval('gw-1'))).toEqual({ ...pending, attempts: 2, lastError: 'ssh: connect ECONNREFUSED', nextAttemptAt: 't2' });
    expect(await store.write((w) => [w.deleteNodeRemoval('gw-1'), w.deleteNodeRemoval('gw-1')])).toEqual([true, false]);
  });

  it('keeps API tokens apart from the cloud: their writes do not bump the revision', async () => {
    const store = await backend().open();
    const token = { id: 'abcd', name: 'ci', role: 'viewer' as const, hash: 'ff'.repeat(32), createdAt: 't' };
    await store.writeTokens((w) => w.insertApiToken(token));
    await store.writeTokens((w) => w.insertApiToken({ ...token, id: 'aaaa', name: 'admin', role: 'admin' }));
    await expect(store.writeTokens((w) => w.insertApiToken({ ...token, id: 'bbbb' }))).rejects.toThrow(/UNIQUE/);
    await store.writeTokens((w) => w.setApiTokenLastUsed('abcd', 't9'));
    expect(store.readTokens((r) => r.listApiTokens().map((t) => t.name))).toEqual(['admin', 'ci']);
    expect(store.readTokens((r) => r.getApiToken('abcd'))).toEqual({ ...token, lastUsedAt: 't9' });
    expect(await store.writeTokens((w) => [w.deleteApiToken('ci'), w.deleteApiToken('ci')])).toEqual([true, false]);
    expect(store.read((r) => r.revision())).toBe(0);
  });

  it('two instances ("controllers") allocating 200 VMs in parallel never hand out one IP, MAC or port twice', async () => {
    const b = backend();
    const [one, two] = [await b.open(), await b.open()];
    await one.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(big);
    });
    const now = (): Date => new Date(0);
    const create = (store: Store, i: number): Promise<VmRecord> =>
      store.write((w) => {
        const record = allocateVm(w, { name: `vm-${i}`, subnet: 'big', flavor: 'tiny', image: 'images:debian/12' }, () => `mcvm${w.nextSequence('vm-port')}`, now);
        w.insertVm(record);
        return record;
      });
    const made = await Promise.all(Array.from({ length: 200 }, (_, i) => create(i % 2 === 0 ? one : two, i)));
    for (const field of ['ip', 'mac', 'port'] as const) expect(new Set(made.map((v) => v[field])).size, field).toBe(200);
    // Both see the same 200, and what each was told it got.
    for (const s of [one, two]) {
      await until(() => s.read((r) => r.listVms().length) === 200);
      const stored = new Map(s.read((r) => r.listVms()).map((v) => [v.name, v]));
      for (const v of made) expect(stored.get(v.name)).toEqual({ ...v, project: 'default', securityGroups: ['default'] });
    }
  }, 120_000);
});

/** Polls a predicate, bounded: another instance sees a write once the watch brings it. */
async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('not seen in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('store on etcd: upgrade of layout 1 (before projects)', () => {
  it('gains the default project, which owns the records that name none', async () => {
    const prefix = `/mc-test-up${prefixes++}/`;
    track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 })).close();
    // Rewind to layout 1 by hand: no projects, records without a project field.
    const client = new Etcd3({ hosts: [...cluster!.endpoints] });
    try {
      const ns = client.namespace(prefix);
      const { project: _s, ...oldSubnet } = subnet;
      const { project: _v, ...oldVm } = vm;
      await ns.delete().key('projects/default');
      await ns.put('schema').value('1');
      await ns.put('nodes/host-1').value(JSON.stringify(node));
      await ns.put('nodes/gw-1').value(JSON.stringify(gw));
      await ns.put('subnets/a').value(JSON.stringify(oldSubnet));
      await ns.put('vms/web-1').value(JSON.stringify({ ...oldVm, securityGroups: ['default'] }));
      const store = track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 }));
      expect(await ns.get('schema').string()).toBe('4');
      expect(store.read((r) => [r.listProjects().map((p) => p.name), r.getSubnet({ name: 'a' })?.project, r.listVms({ project: 'default' }).map((v) => v.name)])).toEqual([
        ['default'],
        'default',
        ['web-1'],
      ]);
      // Layout 4: the records moved to their (project, name) keys; the VM keeps its name on its node.
      expect([await ns.get('vms/web-1').string(), await ns.get('subnets/a').string()]).toEqual([null, null]);
      expect(JSON.parse((await ns.get('vms/default/web-1').string())!)).toMatchObject({ name: 'web-1', project: 'default', instance: 'web-1' });
      await expect(store.write((w) => w.deleteProject('default'))).rejects.toThrow(/FOREIGN KEY/);
    } finally {
      client.close();
    }
  });
});

describe('store on etcd: upgrade of layout 2 (projects, before routing domains)', () => {
  it('gives every project a domain, the default one 1, the others in creation order; the sequence goes on from there', async () => {
    const prefix = `/mc-test-up${prefixes++}/`;
    track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 })).close();
    const client = new Etcd3({ hosts: [...cluster!.endpoints] });
    try {
      const ns = client.namespace(prefix);
      const project = (name: string, createdAt: string) => JSON.stringify({ name, description: '', quotas: {}, createdAt });
      await ns.put('schema').value('2');
      await ns.delete().key('meta/seq:routing-domain');
      await ns.put('projects/default').value(project('default', '2026-01-01T00:00:00Z'));
      await ns.put('projects/zeta').value(project('zeta', '2026-02-01T00:00:00Z'));
      await ns.put('projects/alpha').value(project('alpha', '2026-03-01T00:00:00Z'));
      const store = track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 }));
      expect(await ns.get('schema').string()).toBe('4');
      expect(store.read((r) => r.listProjects().map((p) => [p.name, p.domain]))).toEqual([['alpha', 3], ['default', 1], ['zeta', 2]]);
      await store.write((w) => w.insertProject({ name: 'new', description: '', quotas: {}, createdAt: 't' }));
      expect(store.read((r) => r.getProject('new')?.domain)).toBe(4);
    } finally {
      client.close();
    }
  });
});

describe('store on etcd: upgrade of layout 3 (names unique across the cloud)', () => {
  it("moves records to (project, name) keys; every VM keeps its name on its node, another project's too", async () => {
    const prefix = `/mc-test-up${prefixes++}/`;
    track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 })).close();
    const client = new Etcd3({ hosts: [...cluster!.endpoints] });
    try {
      const ns = client.namespace(prefix);
      const group = JSON.parse((await ns.get('groups/default/default').string())!) as object;
      await ns.delete().key('groups/default/default');
      await ns.put('schema').value('3');
      await ns.put('groups/default').value(JSON.stringify(group));
      await ns.put('projects/blue').value(JSON.stringify({ name: 'blue', description: '', quotas: {}, createdAt: 't', domain: 2 }));
      await ns.put('groups/blue-default').value(JSON.stringify({ id: 2, name: 'blue-default', project: 'blue', description: '', rules: [], createdAt: 't' }));
      await ns.put('nodes/host-1').value(JSON.stringify(node));
      await ns.put('nodes/gw-1').value(JSON.stringify(gw));
      await ns.put('subnets/a').value(JSON.stringify(subnet));
      await ns.put('subnets/b').value(JSON.stringify({ ...big, name: 'b', project: 'blue' }));
      await ns.put('vms/web-1').value(JSON.stringify({ ...vm, securityGroups: ['default'] }));
      await ns.put('vms/b-1').value(JSON.stringify({ ...vm, name: 'b-1', project: 'blue', subnet: 'b', ip: '10.200.0.2', mac: '02:00:00:00:0b:02', port: 'mcvm2', securityGroups: ['blue-default'] }));
      const store = track(await openEtcdStore({ endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000 }));
      expect(await ns.get('schema').string()).toBe('4');
      expect((await ns.getAll().prefix('vms/').keys()).sort()).toEqual(['vms/blue/b-1', 'vms/default/web-1']);
      expect((await ns.getAll().prefix('groups/').keys()).sort()).toEqual(['groups/blue/blue-default', 'groups/default/default']);
      expect(store.read((r) => r.listVms().map((v) => [v.name, v.project, v.instance, v.subnet]))).toEqual([
        ['b-1', 'blue', 'b-1', 'b'],
        ['web-1', 'default', 'web-1', 'a'],
      ]);
      // A new VM of blue named like the default project's gets its own instance name; the old one is unchanged.
      await store.write((w) => w.insertVm({ ...vm, project: 'blue', subnet: 'b', ip: '10.200.0.3', mac: '02:00:00:00:0b:03', port: 'mcvm3', securityGroups: ['blue-default'] }));
      expect(store.read((r) => r.getVm({ project: 'blue', name: 'web-1' })?.instance)).toBe('blue--web-1');
    } finally {
      client.close();
    }
  });
});

describe('store on etcd: member loss and quorum loss', () => {
  it('a member killed changes nothing; without quorum writes fail with StoreUnavailableError and reads still answer', async () => {
    const c = cluster!;
    const store = track(await openEtcdStore({ endpoints: c.endpoints, prefix: `/mc-test-q${prefixes++}/`, requestTimeoutMs: 2000, maxWriteMs: 4000 }));
    // The API over it (closing the harness closes the store).
    const h: Harness = await makeHarness({ store });
    await store.write((w) => w.insertNode(node));
    try {
      await c.kill(0);
      await store.write((w) => w.insertNode(gw));
      expect(store.read((r) => r.listNodes().map((n) => n.name))).toEqual(['gw-1', 'host-1']);

      await c.kill(1);
      const started = Date.now();
      await expect(store.write((w) => w.insertSubnet(subnet))).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(store.read((r) => [r.listNodes().length, r.listSubnets().length, r.revision()])).toEqual([2, 0, 2]);
      // Through the API: a write is a 503 saying why, a read still answers.
      const refused = await h.call('POST', '/api/v1/subnets', { name: 'c', cidr: '192.168.20.64/27' });
      expect(refused.status).toBe(503);
      expect(refused.json.error.code).toBe('store_unavailable');
      expect(refused.headers['retry-after']).toBe('5');
      const nodes = await h.call('GET', '/api/v1/nodes');
      expect([nodes.status, nodes.json.nodes.length]).toEqual([200, 2]);
    } finally {
      await c.start(0);
      await c.start(1);
      await c.waitHealthy();
    }
    // Back with its quorum, it writes again (bounded retries: the client's circuit breaker may still be open). The
    // refused write's outcome was unknown: etcd may commit it now that it has its quorum, so it is not asserted.
    const end = Date.now() + 20_000;
    for (;;) {
      try {
        await store.write((w) => w.insertSubnet({ ...subnet, name: 'after', cidr: '192.168.21.0/27', gatewayIp: '192.168.21.1', vni: 9 }));
        break;
      } catch (e) {
        if (!(e instanceof StoreUnavailableError) || Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(store.read((r) => r.getSubnet({ name: 'after' })?.vni)).toBe(9);
    await h.close();
  }, 120_000);
});
