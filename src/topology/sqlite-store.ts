// The embedded store: one SQLite file (WAL), every write one IMMEDIATE transaction.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { DEFAULT_DOMAIN, MAX_DOMAIN, type NodeRole } from './model.js';
import { DOMAIN_SEQUENCE, projectOf, type ProjectRecord, type Quotas } from './projects.js';
import type { CloudRecords, NodeRecord, NodeRemovalRecord, SecurityGroupRecord, SecurityRuleRecord, SubnetRecord, VmRecord, VmState } from './records.js';
import { DEFAULT_GROUP, type SgDirection, type SgProtocol } from './security-groups.js';
import { sqliteFloatingIps } from './sqlite-floating-ips.js';
import { vmInstanceName } from './names.js';
import type { ApiTokenRecord, ApiTokenRole, CloudStore, ScopedName, StoreReader, StoreWriter, TokenReader, TokenStore, TokenWriter } from './store.js';

export class StoreSchemaError extends Error {
  override readonly name = 'StoreSchemaError';
}

export interface SqliteStoreOptions {
  /** Migrations to apply (tests use this to simulate an older program). */
  readonly migrations?: readonly Migration[];
}

interface NodeRow {
  name: string;
  roles: string;
  underlay_ip: string;
  service_ip: string | null;
  ssh_target: string | null;
  az: string | null;
  cpus: number;
  memory_mib: number;
  created_at: string;
}

interface NodeRemovalRow extends NodeRow {
  undo: string;
  requested_at: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string;
}

interface SubnetRow {
  name: string;
  project?: string;
  cidr: string;
  gateway_ip: string;
  vni: number;
  created_at: string;
}

interface VmRow {
  name: string;
  project?: string;
  subnet: string;
  node: string;
  gateway: string;
  flavor: string;
  cpus: number;
  memory_mib: number;
  image: string;
  ip: string;
  /** Absent on a store opened with migrations before v7 (tests of upgrades). */
  transit_ip?: string | null;
  /** Absent before v9. */
  instance?: string;
  mac: string;
  port: string;
  state: VmState;
  error: string | null;
  created_at: string;
}

const nodeFromRow = (r: NodeRow): NodeRecord => ({
  name: r.name,
  roles: JSON.parse(r.roles) as NodeRole[],
  underlayIp: r.underlay_ip,
  ...(r.service_ip !== null && { serviceIp: r.service_ip }),
  ...(r.ssh_target !== null && { sshTarget: r.ssh_target }),
  ...(r.az !== null && { az: r.az }),
  cpus: r.cpus,
  memoryMiB: r.memory_mib,
  createdAt: r.created_at,
});

const nodeRemovalFromRow = (r: NodeRemovalRow): NodeRemovalRecord => ({
  node: nodeFromRow(r),
  undo: r.undo,
  requestedAt: r.requested_at,
  attempts: r.attempts,
  ...(r.last_error !== null && { lastError: r.last_error }),
  nextAttemptAt: r.next_attempt_at,
});

// A store opened with migrations before v5 (tests of upgrades) has no project columns: the default project's.
const projectField = (r: { project?: string }): { project: string } => ({ project: r.project ?? 'default' });

const subnetFromRow = (r: SubnetRow): SubnetRecord => ({
  name: r.name,
  ...projectField(r),
  cidr: r.cidr,
  gatewayIp: r.gateway_ip,
  vni: r.vni,
  createdAt: r.created_at,
});

const vmFromRow = (r: VmRow): VmRecord => ({
  name: r.name,
  ...projectField(r),
  subnet: r.subnet,
  node: r.node,
  gateway: r.gateway,
  flavor: r.flavor,
  cpus: r.cpus,
  memoryMiB: r.memory_mib,
  image: r.image,
  ip: r.ip,
  ...(r.transit_ip != null && { transitIp: r.transit_ip }),
  mac: r.mac,
  port: r.port,
  instance: r.instance ?? r.name,
  state: r.state,
  ...(r.error !== null && { error: r.error }),
  createdAt: r.created_at,
});

interface SecurityGroupRow {
  id: number;
  name: string;
  project?: string;
  description: string;
  created_at: string;
}

interface SecurityRuleRow {
  id: number;
  group_name: string;
  direction: SgDirection;
  protocol: SgProtocol;
  port_min: number | null;
  port_max: number | null;
  /** Absent on a store opened with migrations before v6 (tests of upgrades). */
  icmp_type?: number | null;
  icmp_code?: number | null;
  remote_cidr: string | null;
  remote_group: string | null;
  created_at: string;
}

const ruleFromRow = (r: SecurityRuleRow): SecurityRuleRecord => ({
  id: r.id,
  direction: r.direction,
  protocol: r.protocol,
  ...(r.port_min !== null && { portMin: r.port_min }),
  ...(r.port_max !== null && { portMax: r.port_max }),
  ...(r.icmp_type != null && { icmpType: r.icmp_type }),
  ...(r.icmp_code != null && { icmpCode: r.icmp_code }),
  ...(r.remote_cidr !== null && { remoteCidr: r.remote_cidr }),
  ...(r.remote_group !== null && { remoteGroup: r.remote_group }),
  createdAt: r.created_at,
});

interface ApiTokenRow {
  id: string;
  name: string;
  role: ApiTokenRole;
  project?: string | null;
  hash: string;
  created_at: string;
  last_used_at: string | null;
}

const apiTokenFromRow = (r: ApiTokenRow): ApiTokenRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  ...(r.project != null && { project: r.project }),
  hash: r.hash,
  createdAt: r.created_at,
  ...(r.last_used_at !== null && { lastUsedAt: r.last_used_at }),
});

const groupFromRow = (g: SecurityGroupRow, rules: SecurityRuleRecord[]): SecurityGroupRecord => ({
  id: g.id,
  name: g.name,
  ...projectField(g),
  description: g.description,
  rules,
  createdAt: g.created_at,
});

interface ProjectRow {
  name: string;
  description: string;
  overlay: string | null;
  quotas: string;
  created_at: string;
  /** Absent on a store opened with migrations before v7. */
  domain?: number | null;
}

const projectFromRow = (r: ProjectRow): ProjectRecord => ({
  name: r.name,
  description: r.description,
  ...(r.overlay !== null && { overlay: r.overlay }),
  quotas: JSON.parse(r.quotas) as Quotas,
  createdAt: r.created_at,
  ...(r.domain != null && { domain: r.domain }),
});

/** Opens (creating if needed) and migrates the store at `path` (':memory:' for a throwaway one). */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  // A new store file is made 0600 whatever the umask (SQLite gives its -wal and -shm the same mode): it is the whole
  // cloud's inventory and the API tokens' hashes.
  if (path !== ':memory:' && path !== '' && !existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // FULL: a committed allocation survives power loss too, not only a crashed process.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Deleted rows are overwritten, not left in free pages: v1's plaintext API token, a revoked token's hash.
    db.pragma('secure_delete = ON');
    migrate(db, options.migrations ?? MIGRATIONS);
    return new SqliteStore(db);
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The schema version of a store database (0 when no migration was applied). Needs the schema_migrations table. */
export function storeSchemaVersion(db: Database.Database): number {
  return (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
}

/** Why a store of schema `version` cannot be used by this program (one made by a newer miniCloud), or undefined. */
export function newerSchemaProblem(version: number, migrations: readonly Migration[] = MIGRATIONS): string | undefined {
  const known = migrations.at(-1)?.version ?? 0;
  return version > known ? `schema version ${version}, newer than this program knows (${known}); upgrade miniCloud first` : undefined;
}

/** SQLite's integrity and foreign-key checks of a database; empty when sound. */
export function storeIntegrityProblems(db: Database.Database): string[] {
  const problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  const fk = db.pragma('foreign_key_check') as unknown[];
  return [...problems.filter((p) => p !== 'ok'), ...fk.map((r) => `foreign key violation: ${JSON.stringify(r)}`)];
}

function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  // v2 hashes the v1 plaintext API token in SQL.
  db.function('sha256_hex', { deterministic: true }, (text: unknown) => createHash('sha256').update(String(text)).digest('hex'));
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = storeSchemaVersion(db);
  const newer = newerSchemaProblem(current, migrations);
  if (newer !== undefined) throw new StoreSchemaError(`the store has ${newer}`);
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    if (m.foreignKeysOff) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (m.foreignKeysOff) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length) throw new StoreSchemaError(`migration ${m.version} (${m.name}) would break ${broken.length} foreign key(s): ${JSON.stringify(broken.slice(0, 3))}`);
        }
        record.run(m.version, m.name, new Date().toISOString());
      }).immediate();
    } finally {
      if (m.foreignKeysOff) db.pragma('foreign_keys = ON');
    }
  }
}

/** A statement on a record named per project: the record's (project, name) come last in its arguments. */
interface ScopedStatement {
  run(ref: ScopedName, ...rest: unknown[]): Database.RunResult;
  get(ref: ScopedName, ...rest: unknown[]): unknown;
  all(ref: ScopedName, ...rest: unknown[]): unknown[];
}

export class SqliteStore implements CloudStore, TokenStore {
  private readonly reader: StoreReader;
  private readonly writer: StoreWriter;
  private readonly tokenWriter: TokenWriter;

  constructor(private readonly db: Database.Database) {
    // Prepared on first use: a store opened with v1's migrations only (tests of upgrades) has no api_tokens or node_removals table.
    const lazy = (sql: string): (() => Database.Statement) => {
      let statement: Database.Statement | undefined;
      return () => (statement ??= db.prepare(sql));
    };
    // A table of records named per project, in name order (then project; before v5 there is no project column).
    const scopedList = (table: string): (() => Database.Statement) => {
      const withProject = lazy(`SELECT * FROM ${table} ORDER BY name, project`);
      const plain = lazy(`SELECT * FROM ${table} ORDER BY name`);
      return () => (hasProjects() ? withProject() : plain());
    };
    // Statements keyed by (project, name) from v9 on; a store opened with older migrations (tests of upgrades) keys
    // by name alone, as those versions did: `scoped` picks one, with the arguments each takes.
    let v9: boolean | undefined;
    const hasV9 = (): boolean => (v9 ??= (db.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('vms') WHERE name = 'instance'").get() as { n: number }).n > 0);
    const scoped = (byKey: string, byName: string): ScopedStatement => {
      const keyed = lazy(byKey);
      const named = lazy(byName);
      const pick = (ref: ScopedName, rest: unknown[]): [Database.Statement, unknown[]] => (hasV9() ? [keyed(), [...rest, projectOf(ref), ref.name]] : [named(), [...rest, ref.name]]);
      return {
        run: (ref, ...rest) => {
          const [st, args] = pick(ref, rest);
          return st.run(...args);
        },
        get: (ref, ...rest) => {
          const [st, args] = pick(ref, rest);
          return st.get(...args);
        },
        all: (ref, ...rest) => {
          const [st, args] = pick(ref, rest);
          return st.all(...args);
        },
      };
    };
    const q = {
      nodes: db.prepare('SELECT * FROM nodes ORDER BY name'),
      node: db.prepare('SELECT * FROM nodes WHERE name = ?'),
      subnets: scopedList('subnets'),
      subnet: scoped('SELECT * FROM subnets WHERE project = ? AND name = ?', 'SELECT * FROM subnets WHERE name = ?'),
      vms: scopedList('vms'),
      vmsByNode: db.prepare('SELECT * FROM vms WHERE node = ? ORDER BY name'),
      vmsBySubnet: scoped('SELECT * FROM vms WHERE project = ? AND subnet = ? ORDER BY name', 'SELECT * FROM vms WHERE subnet = ? ORDER BY name'),
      vmsByGateway: db.prepare('SELECT * FROM vms WHERE gateway = ? ORDER BY name'),
      vmsByProject: lazy('SELECT * FROM vms WHERE project = ? ORDER BY name'),
      vm: scoped('SELECT * FROM vms WHERE project = ? AND name = ?', 'SELECT * FROM vms WHERE name = ?'),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      insertNode: db.prepare(
        'INSERT INTO nodes (name, roles, underlay_ip, service_ip, ssh_target, az, cpus, memory_mib, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteNode: db.prepare('DELETE FROM nodes WHERE name = ?'),
      insertSubnet: db.prepare('INSERT INTO subnets (name, cidr, gateway_ip, vni, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertSubnetIn: lazy('INSERT INTO subnets (name, cidr, gateway_ip, vni, created_at, project) VALUES (?, ?, ?, ?, ?, ?)'),
      deleteSubnet: scoped('DELETE FROM subnets WHERE project = ? AND name = ?', 'DELETE FROM subnets WHERE name = ?'),
      insertVm: db.prepare(
        `INSERT INTO vms (name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertVmV9: lazy(
        `INSERT INTO vms (name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, project, transit_ip, instance)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertVmV7: lazy(
        `INSERT INTO vms (name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, project, transit_ip)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      hasDomains: lazy("SELECT COUNT(*) AS n FROM pragma_table_info('projects') WHERE name = 'domain'"),
      insertProjectV7: lazy('INSERT INTO projects (name, description, overlay, quotas, created_at, domain) VALUES (?, ?, ?, ?, ?, ?)'),
      insertVmIn: lazy(
        `INSERT INTO vms (name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, project)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setVmState: scoped('UPDATE vms SET state = ?, error = ? WHERE project = ? AND name = ?', 'UPDATE vms SET state = ?, error = ? WHERE name = ?'),
      setVmGateway: scoped('UPDATE vms SET gateway = ? WHERE project = ? AND name = ?', 'UPDATE vms SET gateway = ? WHERE name = ?'),
      setVmTransitIp: scoped('UPDATE vms SET transit_ip = ? WHERE project = ? AND name = ?', 'UPDATE vms SET transit_ip = ? WHERE name = ?'),
      deleteVm: scoped('DELETE FROM vms WHERE project = ? AND name = ?', 'DELETE FROM vms WHERE name = ?'),
      removals: lazy('SELECT * FROM node_removals ORDER BY name'),
      removal: lazy('SELECT * FROM node_removals WHERE name = ?'),
      putRemoval: lazy(
        `INSERT OR REPLACE INTO node_removals (name, roles, underlay_ip, service_ip, ssh_target, az, cpus, memory_mib, created_at, undo, requested_at, attempts, last_error, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteRemoval: lazy('DELETE FROM node_removals WHERE name = ?'),
      hasSecurityGroups: lazy("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'vm_security_groups'"),
      groups: scopedList('security_groups'),
      group: scoped('SELECT * FROM security_groups WHERE project = ? AND name = ?', 'SELECT * FROM security_groups WHERE name = ?'),
      rules: lazy('SELECT * FROM security_rules ORDER BY id'),
      groupRules: scoped('SELECT * FROM security_rules WHERE project = ? AND group_name = ? ORDER BY id', 'SELECT * FROM security_rules WHERE group_name = ? ORDER BY id'),
      memberships: lazy('SELECT * FROM vm_security_groups ORDER BY vm, group_name'),
      vmGroups: scoped('SELECT group_name FROM vm_security_groups WHERE project = ? AND vm = ? ORDER BY group_name', 'SELECT group_name FROM vm_security_groups WHERE vm = ? ORDER BY group_name'),
      insertGroup: lazy('INSERT INTO security_groups (id, name, description, created_at) VALUES (?, ?, ?, ?)'),
      insertGroupIn: lazy('INSERT INTO security_groups (id, name, description, created_at, project) VALUES (?, ?, ?, ?, ?)'),
      allMeta: db.prepare('SELECT key, value FROM meta ORDER BY key'),
      idSequences: lazy("SELECT name, seq FROM sqlite_sequence WHERE name IN ('security_groups', 'security_rules')"),
      seqInit: lazy('INSERT INTO sqlite_sequence (name, seq) SELECT @name, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = @name)'),
      seqRaise: lazy('UPDATE sqlite_sequence SET seq = MAX(seq, @seq) WHERE name = @name'),
      hasProjects: lazy("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'projects'"),
      projects: lazy('SELECT * FROM projects ORDER BY name'),
      project: lazy('SELECT * FROM projects WHERE name = ?'),
      insertProject: lazy('INSERT INTO projects (name, description, overlay, quotas, created_at) VALUES (?, ?, ?, ?, ?)'),
      updateProject: lazy('UPDATE projects SET description = ?, overlay = ?, quotas = ? WHERE name = ?'),
      deleteProject: lazy('DELETE FROM projects WHERE name = ?'),
      deleteGroup: scoped('DELETE FROM security_groups WHERE project = ? AND name = ?', 'DELETE FROM security_groups WHERE name = ?'),
      insertRule: scoped(
        `INSERT INTO security_rules (id, direction, protocol, port_min, port_max, remote_cidr, remote_group, created_at, project, group_name)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        `INSERT INTO security_rules (id, direction, protocol, port_min, port_max, remote_cidr, remote_group, created_at, group_name)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteRule: scoped('DELETE FROM security_rules WHERE id = ? AND project = ? AND group_name = ?', 'DELETE FROM security_rules WHERE id = ? AND group_name = ?'),
      setRuleIcmp: lazy('UPDATE security_rules SET icmp_type = ?, icmp_code = ? WHERE id = ?'),
      clearVmGroups: scoped('DELETE FROM vm_security_groups WHERE project = ? AND vm = ?', 'DELETE FROM vm_security_groups WHERE vm = ?'),
      addVmGroup: scoped('INSERT INTO vm_security_groups (group_name, project, vm) VALUES (?, ?, ?)', 'INSERT INTO vm_security_groups (group_name, vm) VALUES (?, ?)'),
    };
    // A store opened with migrations before v4 (tests of upgrades) has no security groups: VMs then carry none.
    let sgTables: boolean | undefined;
    const hasSg = (): boolean => (sgTables ??= (q.hasSecurityGroups().get() as { n: number }).n > 0);
    // ...and one opened with migrations before v5 has no projects: everything is the default project's.
    let projectTables: boolean | undefined;
    const hasProjects = (): boolean => (projectTables ??= (q.hasProjects().get() as { n: number }).n > 0);
    const DEFAULT_ONLY: ProjectRecord = { name: 'default', description: '', quotas: {}, createdAt: '', domain: DEFAULT_DOMAIN };
    // ...and one opened with migrations before v7 has no routing domains or transit addresses.
    let domainColumns: boolean | undefined;
    const hasDomains = (): boolean => (domainColumns ??= hasProjects() && (q.hasDomains().get() as { n: number }).n > 0);
    // (project, name) as one map key ('/' is in no name); before v9 a name was unique across the cloud.
    const key = (project: string | undefined, name: string): string => (hasV9() ? `${project ?? 'default'}/${name}` : name);
    const withGroups = (vms: VmRecord[]): VmRecord[] => {
      if (!hasSg() || !vms.length) return vms;
      const byVm = new Map<string, string[]>();
      if (vms.length === 1) byVm.set(key(vms[0]!.project, vms[0]!.name), (q.vmGroups.all(vms[0]!) as { group_name: string }[]).map((r) => r.group_name));
      else
        for (const r of q.memberships().all() as { project?: string; vm: string; group_name: string }[]) {
          let l = byVm.get(key(r.project, r.vm));
          if (!l) byVm.set(key(r.project, r.vm), (l = []));
          l.push(r.group_name);
        }
      return vms.map((v) => ({ ...v, securityGroups: byVm.get(key(v.project, v.name)) ?? [] }));
    };
    const listGroups = (): SecurityGroupRecord[] => {
      if (!hasSg()) return [];
      const rules = new Map<string, SecurityRuleRecord[]>();
      for (const r of q.rules().all() as (SecurityRuleRow & { project?: string })[]) {
        let l = rules.get(key(r.project, r.group_name));
        if (!l) rules.set(key(r.project, r.group_name), (l = []));
        l.push(ruleFromRow(r));
      }
      return (q.groups().all() as SecurityGroupRow[]).map((g) => groupFromRow(g, rules.get(key(g.project, g.name)) ?? []));
    };
    const t = {
      get: lazy('SELECT * FROM api_tokens WHERE id = ?'),
      insertScoped: lazy('INSERT INTO api_tokens (id, name, role, project, hash, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      list: lazy('SELECT * FROM api_tokens ORDER BY name'),
      insert: lazy('INSERT INTO api_tokens (id, name, role, hash, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)'),
      delete: lazy('DELETE FROM api_tokens WHERE name = ?'),
      lastUsed: lazy('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
    };
    const tokenReader: TokenReader = {
      getApiToken: (id) => {
        const r = t.get().get(id) as ApiTokenRow | undefined;
        return r && apiTokenFromRow(r);
      },
      listApiTokens: () => (t.list().all() as ApiTokenRow[]).map(apiTokenFromRow),
    };
    this.tokenWriter = {
      ...tokenReader,
      insertApiToken: (k) => {
        if (k.project !== undefined || k.role === 'member') t.insertScoped().run(k.id, k.name, k.role, k.project ?? null, k.hash, k.createdAt, k.lastUsedAt ?? null);
        else t.insert().run(k.id, k.name, k.role, k.hash, k.createdAt, k.lastUsedAt ?? null);
      },
      deleteApiToken: (name) => t.delete().run(name).changes > 0,
      setApiTokenLastUsed: (id, at) => {
        t.lastUsed().run(at, id);
      },
    };
    const getMeta = (key: string): string | undefined => (q.meta.get(key) as { value: string } | undefined)?.value;
    const fips = sqliteFloatingIps(db);
    const reader: StoreReader = {
      listFloatingIps: fips.listFloatingIps,
      getFloatingIp: fips.getFloatingIp,
      listNodes: () => (q.nodes.all() as NodeRow[]).map(nodeFromRow),
      getNode: (name) => {
        const r = q.node.get(name) as NodeRow | undefined;
        return r && nodeFromRow(r);
      },
      listSubnets: () => (q.subnets().all() as SubnetRow[]).map(subnetFromRow),
      getSubnet: (ref) => {
        const r = q.subnet.get(ref) as SubnetRow | undefined;
        return r && subnetFromRow(r);
      },
      listVms: (filter = {}) => {
        const rows =
          filter.project !== undefined && !hasProjects()
            ? filter.project === 'default'
              ? q.vms().all()
              : []
            : filter.project !== undefined
              ? q.vmsByProject().all(filter.project)
              : filter.node !== undefined
            ? q.vmsByNode.all(filter.node)
            : filter.subnet !== undefined
              ? q.vmsBySubnet.all(filter.subnet)
              : filter.gateway !== undefined
                ? q.vmsByGateway.all(filter.gateway)
                : q.vms().all();
        return withGroups(
          (rows as VmRow[])
            .map(vmFromRow)
            .filter(
              (v) =>
                (filter.node === undefined || v.node === filter.node) &&
                (filter.subnet === undefined || (v.subnet === filter.subnet.name && v.project === projectOf(filter.subnet))) &&
                (filter.project === undefined || v.project === filter.project) &&
                (filter.gateway === undefined || v.gateway === filter.gateway),
            ),
        );
      },
      getVm: (ref) => {
        const r = q.vm.get(ref) as VmRow | undefined;
        return r && withGroups([vmFromRow(r)])[0];
      },
      records: (): CloudRecords => ({
        nodes: reader.listNodes(),
        subnets: reader.listSubnets(),
        vms: reader.listVms(),
        ...(hasSg() && { securityGroups: listGroups() }),
        floatingIps: fips.listFloatingIps(),
        projects: reader.listProjects(),
      }),
      listSecurityGroups: listGroups,
      getSecurityGroup: (ref) => {
        if (!hasSg()) return undefined;
        const g = q.group.get(ref) as SecurityGroupRow | undefined;
        return g && groupFromRow(g, (q.groupRules.all(ref) as SecurityRuleRow[]).map(ruleFromRow));
      },
      listProjects: () => (hasProjects() ? (q.projects().all() as ProjectRow[]).map(projectFromRow) : [DEFAULT_ONLY]),
      getProject: (name) => {
        if (!hasProjects()) return name === 'default' ? DEFAULT_ONLY : undefined;
        const r = q.project().get(name) as ProjectRow | undefined;
        return r && projectFromRow(r);
      },
      revision: () => Number(getMeta('revision') ?? 0),
      getMeta,
      listMeta: () => (q.allMeta.all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
      securityIdHighWater: () => {
        if (!hasSg()) return { group: 0, rule: 0 };
        const seq = new Map((q.idSequences().all() as { name: string; seq: number }[]).map((r) => [r.name, r.seq]));
        return { group: seq.get('security_groups') ?? 0, rule: seq.get('security_rules') ?? 0 };
      },
      listNodeRemovals: () => (q.removals().all() as NodeRemovalRow[]).map(nodeRemovalFromRow),
      getNodeRemoval: (name) => {
        const r = q.removal().get(name) as NodeRemovalRow | undefined;
        return r && nodeRemovalFromRow(r);
      },
    };
    this.reader = reader;
    this.writer = {
      ...reader,
      insertFloatingIp: fips.insertFloatingIp,
      setFloatingIpVm: fips.setFloatingIpVm,
      deleteFloatingIp: fips.deleteFloatingIp,
      insertNode: (n) => {
        q.insertNode.run(n.name, JSON.stringify(n.roles), n.underlayIp, n.serviceIp ?? null, n.sshTarget ?? null, n.az ?? null, n.cpus, n.memoryMiB, n.createdAt);
      },
      deleteNode: (name) => q.deleteNode.run(name).changes > 0,
      insertSubnet: (s) => {
        if (hasProjects()) q.insertSubnetIn().run(s.name, s.cidr, s.gatewayIp, s.vni, s.createdAt, s.project ?? 'default');
        else q.insertSubnet.run(s.name, s.cidr, s.gatewayIp, s.vni, s.createdAt);
      },
      deleteSubnet: (ref) => q.deleteSubnet.run(ref).changes > 0,
      insertVm: (v) => {
        const row = [v.name, v.subnet, v.node, v.gateway, v.flavor, v.cpus, v.memoryMiB, v.image, v.ip, v.mac, v.port, v.state, v.error ?? null, v.createdAt] as const;
        if (hasV9()) q.insertVmV9().run(...row, projectOf(v), v.transitIp ?? null, v.instance ?? vmInstanceName(projectOf(v), v.name));
        else if (hasDomains()) q.insertVmV7().run(...row, v.project ?? 'default', v.transitIp ?? null);
        else if (hasProjects()) q.insertVmIn().run(...row, v.project ?? 'default');
        else q.insertVm.run(...row);
        if (hasSg()) for (const g of v.securityGroups?.length ? v.securityGroups : [DEFAULT_GROUP]) q.addVmGroup.run(v, g);
      },
      setVmState: (ref, state, error) => {
        q.setVmState.run(ref, state, error ?? null);
      },
      setVmGateway: (ref, gateway) => q.setVmGateway.run(ref, gateway).changes > 0,
      setVmTransitIp: (ref, transitIp) => q.setVmTransitIp.run(ref, transitIp).changes > 0,
      deleteVm: (ref) => q.deleteVm.run(ref).changes > 0,
      setMeta: (key, value) => {
        q.setMeta.run(key, value);
      },
      putNodeRemoval: ({ node: n, ...r }) => {
        q.putRemoval().run(
          n.name, JSON.stringify(n.roles), n.underlayIp, n.serviceIp ?? null, n.sshTarget ?? null, n.az ?? null, n.cpus, n.memoryMiB, n.createdAt,
          r.undo, r.requestedAt, r.attempts, r.lastError ?? null, r.nextAttemptAt,
        );
      },
      deleteNodeRemoval: (name) => q.deleteRemoval().run(name).changes > 0,
      insertSecurityGroup: (g) =>
        Number(
          (hasProjects()
            ? q.insertGroupIn().run(g.id ?? null, g.name, g.description, g.createdAt, g.project ?? 'default')
            : q.insertGroup().run(g.id ?? null, g.name, g.description, g.createdAt)
          ).lastInsertRowid,
        ),
      insertProject: (p) => {
        if (!hasDomains()) {
          q.insertProject().run(p.name, p.description, p.overlay ?? null, JSON.stringify(p.quotas), p.createdAt);
          return;
        }
        // A given domain (a restore) or the next one; the sequence never goes back, so an id is never reused.
        const seq = Number(getMeta(`seq:${DOMAIN_SEQUENCE}`) ?? 0);
        const domain = p.domain ?? seq + 1;
        if (domain > MAX_DOMAIN) throw new Error(`CHECK constraint failed: routing domain ids are used up (${MAX_DOMAIN})`);
        if (domain > seq) q.setMeta.run(`seq:${DOMAIN_SEQUENCE}`, String(domain));
        q.insertProjectV7().run(p.name, p.description, p.overlay ?? null, JSON.stringify(p.quotas), p.createdAt, domain);
      },
      updateProject: (p) => q.updateProject().run(p.description, p.overlay ?? null, JSON.stringify(p.quotas), p.name).changes > 0,
      deleteProject: (name) => q.deleteProject().run(name).changes > 0,
      deleteSecurityGroup: (ref) => q.deleteGroup.run(ref).changes > 0,
      insertSecurityRule: (group, r, createdAt, id) => {
        const ruleId = Number(
          q.insertRule.run(group, id ?? null, r.direction, r.protocol, r.portMin ?? null, r.portMax ?? null, r.remoteCidr ?? null, r.remoteGroup ?? null, createdAt).lastInsertRowid,
        );
        // Only an ICMP rule with a type touches the v6 columns (an older schema can still take every other rule).
        if (r.icmpType !== undefined) q.setRuleIcmp().run(r.icmpType, r.icmpCode ?? null, ruleId);
        return ruleId;
      },
      reserveSecurityIds: (upTo) => {
        for (const [table, id] of [['security_groups', upTo.group], ['security_rules', upTo.rule]] as const) {
          q.seqInit().run({ name: table });
          q.seqRaise().run({ name: table, seq: id });
        }
      },
      deleteSecurityRule: (group, id) => q.deleteRule.run(group, id).changes > 0,
      setVmSecurityGroups: (vm, groups) => {
        q.clearVmGroups.run(vm);
        for (const g of groups.length ? groups : [DEFAULT_GROUP]) q.addVmGroup.run(vm, g);
      },
      nextSequence: (name) => {
        const next = Number(getMeta(`seq:${name}`) ?? 0) + 1;
        q.setMeta.run(`seq:${name}`, String(next));
        return next;
      },
    };
  }

  read<T>(fn: (r: StoreReader) => T): T {
    // A deferred transaction: every read in fn sees one snapshot.
    return this.db.transaction(() => fn(this.reader))();
  }

  // async: the transaction still runs at the call, synchronously; a throw becomes the rejection.
  async write<T>(fn: (w: StoreWriter) => T): Promise<T> {
    return this.db
      .transaction(() => {
        const result = fn(this.writer);
        this.writer.setMeta('revision', String(this.writer.revision() + 1));
        return result;
      })
      .immediate();
  }

  readTokens<T>(fn: (r: TokenReader) => T): T {
    return this.db.transaction(() => fn(this.tokenWriter))();
  }

  async writeTokens<T>(fn: (w: TokenWriter) => T): Promise<T> {
    return this.db.transaction(() => fn(this.tokenWriter)).immediate();
  }

  /** For tests and `minicloud` diagnostics: SQLite's own consistency check ('ok' when sound). */
  integrityCheck(): string[] {
    return storeIntegrityProblems(this.db);
  }

  schemaVersion(): number {
    return storeSchemaVersion(this.db);
  }

  close(): void {
    this.db.close();
  }
}
