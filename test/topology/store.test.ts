import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/topology/migrations/index.js';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, decodeBackup } from '../../src/topology/store-dump.js';
import { toCloud } from '../../src/topology/records.js';
import { openSqliteStore, StoreSchemaError } from '../../src/topology/sqlite-store.js';
import { GATEWAY, NODE, SUBNET, VM } from '../helpers/store-records.js';

const node = NODE;
const gw = GATEWAY;
const subnet = SUBNET;
const vm = VM;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'minicloud-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteStore', () => {
  it('round-trips records and projects them onto the model', async () => {
    const store = openSqliteStore(join(dir, 'a.db'));
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
    });
    const records = store.read((r) => r.records());
    expect(records.nodes).toEqual([gw, node]);
    expect(records.subnets).toEqual([subnet]);
    // A VM not given a security group is in `default`.
    expect(records.vms).toEqual([{ ...vm, instance: vm.name, securityGroups: ['default'] }]);
    expect(toCloud(records).vms).toEqual([
      { name: 'web-1', subnet: 'a', node: 'host-1', gateway: 'gw-1', ip: '192.168.20.2', mac: '02:00:c0:a8:14:02', port: 'mcvm1', securityGroups: ['default'] },
    ]);
    await store.write((w) => w.setVmState({ name: 'web-1' }, 'deleting'));
    expect(toCloud(store.read((r) => r.records())).vms).toEqual([]);
    store.close();
  });

  it('persists across reopen, in WAL mode, with the schema version recorded', async () => {
    const path = join(dir, 'b.db');
    const a = openSqliteStore(path);
    await a.write((w) => w.insertNode(node));
    expect(a.schemaVersion()).toBe(MIGRATIONS.at(-1)!.version);
    a.close();
    const b = openSqliteStore(path);
    expect(b.read((r) => r.listNodes())).toEqual([node]);
    expect(b.read((r) => r.revision())).toBe(1);
    b.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version, name FROM schema_migrations').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    db.close();
  });

  it('a new store file and its WAL are 0600 whatever the umask', async () => {
    const path = join(dir, 'mode.db');
    const umask = process.umask(0o000);
    try {
      const store = openSqliteStore(path);
      await store.write((w) => w.insertNode(node));
      for (const f of [path, `${path}-wal`]) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
      store.close();
    } finally {
      process.umask(umask);
    }
  });

  it('a write that throws leaves nothing behind', async () => {
    const store = openSqliteStore(join(dir, 'c.db'));
    await expect(
      store.write((w) => {
        w.insertNode(node);
        w.insertSubnet(subnet);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(store.read((r) => [r.listNodes(), r.listSubnets(), r.revision()])).toEqual([[], [], 0]);
    store.close();
  });

  it('enforces uniqueness and references as a second line of defence', async () => {
    const store = openSqliteStore(join(dir, 'd.db'));
    await store.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
    });
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-2', mac: '02:00:00:00:00:09', port: 'mcvm2' }))).rejects.toThrow(/UNIQUE.*vms\.ip/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-3', ip: '192.168.20.3', port: 'mcvm3' }))).rejects.toThrow(/UNIQUE.*vms\.mac/);
    await expect(store.write((w) => w.insertSubnet({ ...subnet, name: 'b', cidr: '192.168.20.32/27' }))).rejects.toThrow(/UNIQUE.*vni/);
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'web-4', ip: '192.168.20.4', mac: '02:00:00:00:00:04', port: 'p4', subnet: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteNode('host-1'))).rejects.toThrow(/FOREIGN KEY/);
    expect(store.integrityCheck()).toEqual([]);
    store.close();
  });

  it('sequences never repeat, even after the row that used one is gone', async () => {
    const store = openSqliteStore(join(dir, 'e.db'));
    const got = [await store.write((w) => w.nextSequence('vm-port')), await store.write((w) => w.nextSequence('vm-port')), await store.write((w) => w.nextSequence('vm-port'))];
    expect(got).toEqual([1, 2, 3]);
    expect(await store.write((w) => w.nextSequence('other'))).toBe(1);
    store.close();
  });

  it('applies only new migrations, and refuses a store newer than the program', async () => {
    const path = join(dir, 'f.db');
    const last = MIGRATIONS.at(-1)!.version;
    openSqliteStore(path).close();
    const s = openSqliteStore(path); // reopening applies nothing twice
    expect(s.schemaVersion()).toBe(last);
    s.close();
    const extra = { version: last + 1, name: 'add column', sql: 'ALTER TABLE nodes ADD COLUMN labels TEXT' };
    const t = openSqliteStore(path, { migrations: [...MIGRATIONS, extra] });
    expect(t.schemaVersion()).toBe(last + 1);
    t.close();
    expect(() => openSqliteStore(path)).toThrow(StoreSchemaError);
  });

  it('upgrading a store from before projects: the default project owns everything, tokens keep working', async () => {
    const path = join(dir, 'v4.db');
    const old = openSqliteStore(path, { migrations: MIGRATIONS.filter((m) => m.version <= 4) });
    await old.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertSubnet(subnet);
      w.insertVm(vm);
    });
    await old.writeTokens((w) => w.insertApiToken({ id: 'abcd', name: 'ci', role: 'viewer', hash: 'ff'.repeat(32), createdAt: 't' }));
    // Before v5 the store reads as one default project.
    expect(old.read((r) => [r.listProjects().map((p) => p.name), r.getVm({ name: 'web-1' })?.project, r.listVms({ project: 'default' }).length])).toEqual([['default'], 'default', 1]);
    old.close();
    const store = openSqliteStore(path);
    expect(store.read((r) => [r.listProjects().map((p) => p.name), r.getSubnet({ name: 'a' })?.project, r.getVm({ name: 'web-1' })?.project, r.getSecurityGroup({ name: 'default' })?.project])).toEqual([
      ['default'],
      'default',
      'default',
      'default',
    ]);
    expect(store.readTokens((r) => r.getApiToken('abcd'))).toEqual({ id: 'abcd', name: 'ci', role: 'viewer', hash: 'ff'.repeat(32), createdAt: 't' });
    expect(store.integrityCheck()).toEqual([]);
    // The role/project pairs that make no sense are refused by the schema too.
    await expect(store.writeTokens((w) => w.insertApiToken({ id: 'bbbb', name: 'x', role: 'admin', project: 'default', hash: 'ee'.repeat(32), createdAt: 't' }))).rejects.toThrow(/CHECK/);
    await expect(store.writeTokens((w) => w.insertApiToken({ id: 'cccc', name: 'y', role: 'member', hash: 'ee'.repeat(32), createdAt: 't' }))).rejects.toThrow(/CHECK/);
    store.close();
  });

  it('upgrading a store from before routing domains (v6): domains given, tables rebuilt, memberships and references kept', async () => {
    const path = join(dir, 'v6.db');
    const old = openSqliteStore(path, { migrations: MIGRATIONS.filter((m) => m.version <= 6) });
    await old.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertProject({ name: 'blue', description: '', quotas: {}, createdAt: '2026-02-01T00:00:00Z' });
      w.insertSubnet(subnet);
      w.insertVm(vm);
    });
    expect(old.read((r) => r.getProject('blue')?.domain)).toBeUndefined();
    old.close();
    const store = openSqliteStore(path);
    expect(store.schemaVersion()).toBe(MIGRATIONS.at(-1)!.version);
    expect(store.read((r) => r.listProjects().map((p) => [p.name, p.domain]))).toEqual([['blue', 2], ['default', 1]]);
    expect(store.read((r) => [r.getVm({ name: 'web-1' })?.securityGroups, r.getVm({ name: 'web-1' })?.subnet, r.getSubnet({ name: 'a' })?.cidr])).toEqual([['default'], 'a', subnet.cidr]);
    expect(store.integrityCheck()).toEqual([]);
    // The rebuilt tables keep their references and the v5 triggers: a VM of a missing subnet, a project that owns records.
    await expect(store.write((w) => w.insertVm({ ...vm, name: 'x', ip: '192.168.20.9', mac: '02:00:00:00:00:09', port: 'p9', subnet: 'nope' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteProject('default'))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteVm({ name: 'web-1' }))).resolves.toBe(true);
    await store.write((w) => w.insertProject({ name: 'green', description: '', quotas: {}, createdAt: 't' }));
    expect(store.read((r) => r.getProject('green')?.domain)).toBe(3);
    store.close();
  });

  it('upgrading a store from before names per project (v8): keys by (project, name), instance names kept, ids carried over', async () => {
    const path = join(dir, 'v8.db');
    const old = openSqliteStore(path, { migrations: MIGRATIONS.filter((m) => m.version <= 8) });
    await old.write((w) => {
      w.insertNode(node);
      w.insertNode(gw);
      w.insertProject({ name: 'blue', description: '', quotas: {}, createdAt: 't' });
      w.insertSubnet(subnet);
      w.insertSubnet({ ...subnet, name: 'b', project: 'blue', vni: 7 });
      w.insertSecurityGroup({ name: 'blue-default', description: '', createdAt: 't', project: 'blue' });
      w.insertSecurityGroup({ name: 'blue-web', description: '', createdAt: 't', project: 'blue' });
      w.insertSecurityRule({ name: 'blue-web' }, { direction: 'ingress', protocol: 'icmp', icmpType: 8, remoteGroup: 'blue-default' }, 't');
      w.insertVm(vm);
      w.insertVm({ ...vm, name: 'b-1', project: 'blue', subnet: 'b', mac: '02:00:00:00:0b:01', port: 'mcvm2', transitIp: '100.64.0.2', securityGroups: ['blue-web'] });
      w.insertFloatingIp({ address: '203.0.113.10', gateway: 'gw-1', project: 'blue', vm: 'b-1', createdAt: 't' });
    });
    // The highest ids ever handed out stay used up: a group and a rule made and deleted before the upgrade.
    await old.write((w) => {
      w.insertSecurityGroup({ name: 'gone', description: '', createdAt: 't' });
      w.insertSecurityRule({ name: 'gone' }, { direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' }, 't');
    });
    const highWater = old.read((r) => r.securityIdHighWater());
    await old.write((w) => w.deleteSecurityGroup({ name: 'gone' }));
    const before = old.read((r) => r.records());
    old.close();
    const store = openSqliteStore(path);
    expect(store.schemaVersion()).toBe(9);
    expect(store.integrityCheck()).toEqual([]);
    const after = store.read((r) => r.records());
    // Every record kept, every VM with its own name as its instance name (no container is renamed).
    expect(after.vms).toEqual(before.vms.map((v) => ({ ...v, instance: v.name })));
    expect([after.subnets, after.securityGroups, after.floatingIps, after.projects]).toEqual([before.subnets, before.securityGroups, before.floatingIps, before.projects]);
    expect(store.read((r) => r.securityIdHighWater())).toEqual(highWater);
    expect(store.read((r) => [r.getVm({ project: 'blue', name: 'b-1' })?.securityGroups, r.getVm({ name: 'b-1' }), r.listFloatingIps({ vm: { project: 'blue', name: 'b-1' } }).length])).toEqual([['blue-web'], undefined, 1]);
    // Now a name may be taken once per project; a new VM of blue gets its project in its instance name.
    await store.write((w) => {
      w.insertSubnet({ ...subnet, name: 'a', project: 'blue', cidr: '192.168.21.0/27', gatewayIp: '192.168.21.1', vni: 8 });
      w.insertSecurityGroup({ name: 'default', description: '', createdAt: 't', project: 'blue' });
      w.insertVm({ ...vm, project: 'blue', mac: '02:00:00:00:0b:02', port: 'mcvm3', ip: '192.168.20.3', subnet: 'b', transitIp: '100.64.0.3', securityGroups: ['default'] });
    });
    expect(store.read((r) => r.listVms().map((v) => [v.name, v.project, v.instance]))).toEqual([
      ['b-1', 'blue', 'b-1'],
      ['web-1', 'blue', 'blue--web-1'],
      ['web-1', 'default', 'web-1'],
    ]);
    const group = await store.write((w) => w.insertSecurityGroup({ name: 'new', description: '', createdAt: 't' }));
    expect(group).toBe(highWater.group + 2); // blue's 'default' took the first id after the high-water mark
    expect(await store.write((w) => w.insertSecurityRule({ name: 'new' }, { direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' }, 't'))).toBe(highWater.rule + 1);
    // References still hold, now within a project: a rule's remote group, a VM's subnet, a floating IP's VM.
    await expect(store.write((w) => w.deleteSecurityGroup({ project: 'blue', name: 'blue-default' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteSubnet({ project: 'blue', name: 'b' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteVm({ project: 'blue', name: 'b-1' }))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.setFloatingIpVm('203.0.113.10', 'only-elsewhere'))).rejects.toThrow(/FOREIGN KEY/);
    await expect(store.write((w) => w.deleteProject('blue'))).rejects.toThrow(/FOREIGN KEY/);
    expect(store.integrityCheck()).toEqual([]);
    store.close();
  });

  it('a backup file of schema 8 (names unique across the cloud) is read with each VM keeping its name on its node', () => {
    const cloud = {
      revision: 3,
      projects: [],
      nodes: [node, gw],
      subnets: [subnet, { ...subnet, project: 'blue', vni: 7 }],
      vms: [{ ...vm, project: 'blue' }, vm],
      securityGroups: [],
      floatingIps: [],
      nodeRemovals: [],
      apiTokens: [],
      meta: {},
      securityIdHighWater: { group: 1, rule: 2 },
    };
    const head = { format: BACKUP_FORMAT, formatVersion: BACKUP_FORMAT_VERSION, schemaVersion: 8, createdAt: 't', source: 'sqlite' };
    const text = JSON.stringify({ ...head, sha256: createHash('sha256').update(JSON.stringify(cloud)).digest('hex'), cloud });
    const read = decodeBackup(text, 'v8.json');
    expect(read.schemaVersion).toBe(8);
    expect(read.dump.vms.map((v) => [v.project, v.name, v.instance])).toEqual([
      ['blue', 'web-1', 'web-1'],
      ['default', 'web-1', 'web-1'],
    ]);
  });

  it('a migration missing below one that ran (branches merged in another order) is applied too', async () => {
    const path = join(dir, 'gap.db');
    openSqliteStore(path, { migrations: MIGRATIONS.filter((m) => m.version !== 3) }).close(); // all but v3
    openSqliteStore(path).close();
    const db = new Database(path);
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'node_removals'").all()).toHaveLength(1);
    db.close();
  });

  it('keeps a pending node removal (the node as it was, the undo, attempts) across a reopen, one per node name', async () => {
    const path = join(dir, 'removals.db');
    const store = openSqliteStore(path);
    const pending = { node: gw, undo: '{"name":"gw-1"}', requestedAt: 't0', attempts: 0, nextAttemptAt: 't0' };
    const r0 = store.read((r) => r.revision());
    await store.write((w) => w.putNodeRemoval(pending));
    await store.write((w) => w.putNodeRemoval({ ...pending, attempts: 2, lastError: 'ssh: connect ECONNREFUSED', nextAttemptAt: 't2' }));
    await store.write((w) => w.putNodeRemoval({ node, undo: '{}', requestedAt: 't1', attempts: 0, nextAttemptAt: 't1' }));
    expect(store.read((r) => r.revision())).toBe(r0 + 3);
    store.close();
    const again = openSqliteStore(path);
    expect(again.read((r) => r.listNodeRemovals().map((x) => x.node.name))).toEqual(['gw-1', 'host-1']);
    expect(again.read((r) => r.getNodeRemoval('gw-1'))).toEqual({ ...pending, attempts: 2, lastError: 'ssh: connect ECONNREFUSED', nextAttemptAt: 't2' });
    expect(await again.write((w) => w.deleteNodeRemoval('gw-1'))).toBe(true);
    expect(await again.write((w) => w.deleteNodeRemoval('gw-1'))).toBe(false);
    expect(again.read((r) => r.getNodeRemoval('gw-1'))).toBeUndefined();
    expect(again.integrityCheck()).toEqual([]);
    again.close();
  });

  it('a failing migration is rolled back whole', async () => {
    const path = join(dir, 'g.db');
    openSqliteStore(path).close();
    const bad = { version: MIGRATIONS.at(-1)!.version + 1, name: 'half', sql: 'CREATE TABLE x (a INTEGER); CREATE TABLE nodes (a INTEGER);' };
    expect(() => openSqliteStore(path, { migrations: [...MIGRATIONS, bad] })).toThrow(/already exists/);
    const db = new Database(path);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'x'").all()).toEqual([]);
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: MIGRATIONS.at(-1)!.version });
    db.close();
  });
});
