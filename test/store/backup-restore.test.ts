// The portable backup: written from SQLite, restored into etcd (a real 3-member cluster), backed up from there and
// restored into a fresh SQLite store: the same cloud each time (records, security ids, id high-water marks, tokens,
// sequences). Then what a restore refuses: a non-empty target without --force, a damaged file, a newer schema.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupPortable, readBackup, restorePortable } from '../../src/cli/store-backup.js';
import type { Config } from '../../src/daemon/config.js';
import { openConfiguredStore, type Store } from '../../src/daemon/store.js';
import type { NodeRecord, SubnetRecord, VmRecord } from '../../src/topology/records.js';
import { dumpStore, RECORDS_SCHEMA_VERSION, type StoreDump } from '../../src/topology/store-dump.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';

const exec = promisify(execFile);
let cluster: EtcdCluster | undefined;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcst-backup-'));
  cluster = await startEtcdCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const sqlite = (): Config['store'] => ({ backend: 'sqlite', path: join(dir, `s${n++}.db`) });
const etcd = (): Config['store'] => ({ backend: 'etcd', path: '', etcd: { endpoints: cluster!.endpoints, prefix: `/mcst-b${n++}/`, requestTimeoutMs: 5000, leaseTtlSeconds: 5 } });

async function withStore<T>(config: Config['store'], fn: (s: Store) => Promise<T> | T): Promise<T> {
  const { store } = await openConfiguredStore(config);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/**
 * A dump as compared across backends: the revision is only required to be at least the source's, and `default`
 * keeps the target store's creation time (every store makes it; a restore updates it in place).
 */
const comparable = ({ revision: _r, ...rest }: StoreDump): Omit<StoreDump, 'revision'> => ({
  ...rest,
  projects: rest.projects.map((p) => (p.name === 'default' ? { ...p, createdAt: '' } : p)),
  // Every restore raises it (checked on its own below).
  meta: Object.fromEntries(Object.entries(rest.meta).filter(([k]) => k !== 'generation-epoch')),
});
const epochOf = (d: StoreDump): number => Number(d.meta['generation-epoch'] ?? 0);

const VMS = 150; // more than one etcd transaction may hold (128 operations): the restore goes in batches

async function buildCloud(store: Store): Promise<void> {
  const host: NodeRecord = { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 1000, memoryMiB: 1 << 20, createdAt: '2026-01-01T00:00:00.000Z' };
  const gw: NodeRecord = { name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', sshTarget: 'root@10.0.0.1', cpus: 0, memoryMiB: 0, createdAt: 't' };
  const subnet: SubnetRecord = { name: 'a', cidr: '10.200.0.0/22', gatewayIp: '10.200.0.1', vni: 5, createdAt: 't' };
  await store.write((w) => {
    w.insertNode(host);
    w.insertNode(gw);
    w.insertSubnet(subnet);
    w.insertSubnet({ name: 'b', cidr: '10.201.0.0/24', gatewayIp: '10.201.0.1', vni: 6, createdAt: 't' });
  });
  // Ids with holes: a deleted group and rule, so the high-water mark is above the highest id kept.
  await store.write((w) => w.insertSecurityGroup({ name: 'scratch', description: '', createdAt: 't' }));
  await store.write((w) => {
    const web = w.insertSecurityGroup({ name: 'web', description: 'web servers', createdAt: 't' });
    w.insertSecurityRule({ name: 'web' }, { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 443, remoteCidr: '0.0.0.0/0' }, 't');
    w.insertSecurityGroup({ name: 'db', description: '', createdAt: 't' });
    w.insertSecurityRule({ name: 'db' }, { direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' }, 't');
    return web;
  });
  await store.write((w) => {
    const id = w.insertSecurityRule({ name: 'db' }, { direction: 'egress', protocol: 'udp', remoteCidr: '10.0.0.0/8' }, 't');
    w.deleteSecurityRule({ name: 'db' }, id);
    w.deleteSecurityGroup({ name: 'scratch' });
  });
  for (let start = 0; start < VMS; start += 50) {
    await store.write((w) => {
      for (let i = start; i < start + 50; i++) {
        const vm: VmRecord = {
          name: `vm-${String(i).padStart(3, '0')}`,
          subnet: 'a',
          node: 'host-1',
          gateway: 'gw-1',
          flavor: 'tiny',
          cpus: 1,
          memoryMiB: 512,
          image: 'images:debian/12',
          ip: `10.200.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`,
          mac: `02:00:0a:c8:00:${(i + 2).toString(16).padStart(2, '0')}`,
          port: `mcvm${w.nextSequence('vm-port')}`,
          state: i % 7 === 0 ? 'error' : 'running',
          ...(i % 7 === 0 && { error: 'image not found' }),
          createdAt: 't',
          securityGroups: i % 2 === 0 ? ['web'] : ['db', 'web'],
        };
        w.insertVm(vm);
      }
    });
  }
  await store.write((w) => w.putNodeRemoval({ node: { ...host, name: 'old-1', underlayIp: '10.0.0.99' }, undo: '{"bridge":"br0"}', requestedAt: 't', attempts: 3, lastError: 'ssh: timeout', nextAttemptAt: 't' }));
  await store.writeTokens((w) => {
    w.insertApiToken({ id: 'a1b2', name: 'ci', role: 'viewer', hash: 'ab'.repeat(32), createdAt: 't' });
    w.insertApiToken({ id: 'c3d4', name: 'ops', role: 'admin', hash: 'cd'.repeat(32), createdAt: 't', lastUsedAt: 't2' });
  });
}

describe('portable store backup', () => {
  it('sqlite -> etcd -> sqlite: the same cloud each time, and a restore refuses a non-empty target without --force', async () => {
    const source = sqlite();
    const original = await withStore(source, async (s) => (await buildCloud(s), dumpStore(s)));
    expect(original.vms).toHaveLength(VMS);
    expect(original.securityIdHighWater).toEqual({ group: 4, rule: 5 });
    expect(original.meta['seq:vm-port']).toBe(String(VMS));

    const file1 = join(dir, 'from-sqlite.json');
    const b1 = await backupPortable(source, file1);
    expect(b1.counts).toBe(`2 nodes, 2 subnets, ${VMS} VMs, 3 security groups, 2 API tokens`);
    const onEtcd = etcd();
    await restorePortable(file1, onEtcd);
    const inEtcd = await withStore(onEtcd, (s) => dumpStore(s));
    expect(comparable(inEtcd)).toEqual(comparable(original));
    expect(inEtcd.revision).toBeGreaterThanOrEqual(original.revision);
    // Leaders on the restored store claim generations above any the source's switches saw (src/topology/generation.ts).
    expect(epochOf(original)).toBe(0);
    expect(epochOf(inEtcd)).toBeGreaterThan(epochOf(original));
    // Ids keep on from the high-water mark, not from the highest id restored.
    await withStore(onEtcd, async (s) => expect(await s.write((w) => w.insertSecurityGroup({ name: 'new', description: '', createdAt: 't' }))).toBe(5));

    // A second restore into the same (now non-empty) target is refused, unless forced.
    await expect(restorePortable(file1, onEtcd)).rejects.toThrow(/is not empty \(use --force/);
    await restorePortable(file1, onEtcd, { force: true });
    expect(comparable(await withStore(onEtcd, (s) => dumpStore(s)))).toEqual(comparable({ ...original, securityIdHighWater: { group: 5, rule: 5 } }));

    const file2 = join(dir, 'from-etcd.json');
    await backupPortable(onEtcd, file2);
    expect(readBackup(file2).source).toBe('etcd');
    const back = sqlite();
    await restorePortable(file2, back);
    const inSqlite = await withStore(back, (s) => dumpStore(s));
    expect(comparable(inSqlite)).toEqual(comparable({ ...original, securityIdHighWater: { group: 5, rule: 5 } }));
    expect(epochOf(inSqlite)).toBeGreaterThan(epochOf(await withStore(onEtcd, (s) => dumpStore(s))));
    await withStore(back, async (s) => {
      expect(await s.write((w) => w.insertSecurityRule({ name: 'web' }, { direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' }, 't'))).toBe(6);
      expect(await s.write((w) => w.nextSequence('vm-port'))).toBe(VMS + 1);
    });
  }, 180_000);

  it('projects, their groups, ICMP type rules and floating IPs go across: sqlite -> etcd -> sqlite', async () => {
    const source = sqlite();
    const original = await withStore(source, async (s) => {
      await s.write((w) => {
        w.updateProject({ name: 'default', description: 'the first tenant', quotas: { vms: 40 }, createdAt: 't' });
        w.insertProject({ name: 'acme', description: 'a tenant', overlay: '10.50.0.0/16', quotas: { vms: 10, subnets: 2 }, createdAt: 't' });
        w.insertSecurityGroup({ name: 'acme-web', description: '', createdAt: 't', project: 'acme' });
        w.insertSecurityRule({ project: 'acme', name: 'acme-web' }, { direction: 'ingress', protocol: 'icmp', icmpType: 8, icmpCode: 0, remoteCidr: '0.0.0.0/0' }, 't');
        w.insertSubnet({ name: 'acme-a', cidr: '10.50.0.0/24', gatewayIp: '10.50.0.1', vni: 21, createdAt: 't', project: 'acme' });
        // Floating IPs: one attached to an acme VM, one not.
        w.insertNode({ name: 'fgw', roles: ['gateway'], underlayIp: '10.0.9.1', cpus: 0, memoryMiB: 0, createdAt: 't' });
        w.insertNode({ name: 'fc', roles: ['compute'], underlayIp: '10.0.9.2', cpus: 4, memoryMiB: 4096, createdAt: 't' });
        w.insertVm({ name: 'acme-vm', project: 'acme', subnet: 'acme-a', node: 'fc', gateway: 'fgw', flavor: 'tiny', cpus: 1, memoryMiB: 512, image: 'x', ip: '10.50.0.2', mac: '02:00:0a:32:00:02', port: 'mcvm1', state: 'running', createdAt: 't', securityGroups: ['acme-web'] });
        w.insertFloatingIp({ address: '203.0.113.10', gateway: 'fgw', project: 'acme', vm: 'acme-vm', createdAt: 't' });
        w.insertFloatingIp({ address: '203.0.113.11', gateway: 'fgw', project: 'default', createdAt: 't' });
      });
      return dumpStore(s);
    });
    expect(original.projects.map((p) => p.name)).toEqual(['acme', 'default']);
    expect(original.floatingIps.map((f) => [f.address, f.vm])).toEqual([['203.0.113.10', 'acme-vm'], ['203.0.113.11', undefined]]);
    const file1 = join(dir, 'projects.json');
    await backupPortable(source, file1);
    const onEtcd = etcd();
    await restorePortable(file1, onEtcd);
    expect(comparable(await withStore(onEtcd, (s) => dumpStore(s)))).toEqual(comparable(original));
    const file2 = join(dir, 'projects-etcd.json');
    await backupPortable(onEtcd, file2);
    const back = sqlite();
    await restorePortable(file2, back);
    const inSqlite = await withStore(back, (s) => dumpStore(s));
    expect(comparable(inSqlite)).toEqual(comparable(original));
    expect(inSqlite.securityGroups.find((g) => g.name === 'acme-web')).toMatchObject({ project: 'acme', rules: [{ protocol: 'icmp', icmpType: 8, icmpCode: 0 }] });
    // Forced over a target holding floating IPs (one attached): they go first, then what they name.
    await restorePortable(file1, back, { force: true });
    expect(comparable(await withStore(back, (s) => dumpStore(s)))).toEqual(comparable(original));
  }, 120_000);

  it('refuses a damaged file, another format, a newer schema; migrates an older one', async () => {
    const source = sqlite();
    await withStore(source, (s) => s.write((w) => w.insertNode({ name: 'h', roles: ['compute'], underlayIp: '10.0.0.5', cpus: 1, memoryMiB: 1, createdAt: 't' })));
    const file = join(dir, 'small.json');
    await backupPortable(source, file);
    const text = readFileSync(file, 'utf8');
    const put = (name: string, body: string): string => (writeFileSync(join(dir, name), body), join(dir, name));
    await expect(restorePortable(put('edited.json', text.replace('10.0.0.5', '10.0.0.6')), sqlite())).rejects.toThrow(/fails its checksum/);
    await expect(restorePortable(put('cut.json', text.slice(0, 100)), sqlite())).rejects.toThrow(/not JSON/);
    await expect(restorePortable(put('other.json', '{"hello":1}'), sqlite())).rejects.toThrow(/not a miniCloud backup/);
    await expect(restorePortable(put('newer.json', text.replace(`"schemaVersion":${RECORDS_SCHEMA_VERSION}`, '"schemaVersion":99')), sqlite())).rejects.toThrow(/schema version 99, newer/);
    // A v3 cloud (before security groups): restored with `default`, every VM a member.
    const file3 = put('v3.json', text.replace(`"schemaVersion":${RECORDS_SCHEMA_VERSION}`, '"schemaVersion":3'));
    const target = sqlite();
    await restorePortable(file3, target);
    expect(await withStore(target, (s) => s.read((r) => [r.listNodes().map((x) => x.name), r.listSecurityGroups().map((g) => g.name)]))).toEqual([['h'], ['default']]);
  }, 60_000);

  it('works as the minicloud command against etcd, configured by a file', async () => {
    const source = etcd();
    await withStore(source, (s) => s.write((w) => w.insertSubnet({ name: 'x', cidr: '10.9.0.0/24', gatewayIp: '10.9.0.1', vni: 9, createdAt: 't' })));
    const config = join(dir, 'etcd.yaml');
    writeFileSync(config, `store:\n  backend: etcd\n  etcd:\n    endpoints: [${cluster!.endpoints.join(', ')}]\n    prefix: ${source.etcd!.prefix}\n`);
    const cli = (...args: string[]) => exec('npx', ['tsx', 'src/cli/main.ts', 'store', ...args], { timeout: 60_000 });
    const out = join(dir, 'cli.json');
    const { stdout } = await cli('backup', out, '--config', config);
    expect(stdout).toMatch(new RegExp(String.raw`^backed up 0 nodes, 1 subnets, 0 VMs, 1 security groups, 0 API tokens: \d+ bytes \(schema v${RECORDS_SCHEMA_VERSION}\) to .*cli\.json in \d+\.\d\d s\n$`));
    expect((await cli('check', out)).stdout).toMatch(new RegExp(String.raw`: ok \(schema v${RECORDS_SCHEMA_VERSION}, from etcd at .*: 0 nodes, 0 VMs\)`));
    await expect(cli('restore', out, '--config', config)).rejects.toMatchObject({ stderr: expect.stringMatching(/is not empty \(use --force/) });
    expect((await cli('restore', out, '--config', config, '--force')).stdout).toMatch(/^restored 0 nodes, 1 subnets/);
    const target = join(dir, 'from-cli.db');
    expect((await cli('restore', out, '--store', target)).stdout).toMatch(/into .*from-cli\.db/);
    expect(await withStore({ backend: 'sqlite', path: target }, (s) => s.read((r) => r.getSubnet({ name: 'x' })?.vni))).toBe(9);
  }, 300_000);
});
