// A store's whole content as plain records, and the portable backup file made of it: written from either backend
// (SQLite or etcd), restored into either, through the `CloudStore`/`TokenStore` interface only, so both backends'
// constraints check what comes in. The format is documented in docs/operations.md ("Backup file format").
//
// The file is one JSON object: `format`, `formatVersion`, the records' `schemaVersion`, `createdAt`, `source`, the
// `cloud` itself and `sha256`, the SHA-256 of `JSON.stringify(cloud)` (JSON.parse keeps key order, so a reader
// recomputes it from what it parsed). A file of an older schemaVersion is migrated on reading (BACKUP_MIGRATIONS); a
// newer one is refused.
import { createHash } from 'node:crypto';
import type { FloatingIpRecord } from './floating-ips.js';
import { MIGRATIONS } from './migrations/index.js';
import type { NodeRecord, NodeRemovalRecord, SecurityGroupRecord, SubnetRecord, VmRecord } from './records.js';
import { GENERATION_EPOCH_META, nextGenerationEpoch, parseGenerationEpoch } from './generation.js';
import { DEFAULT_PROJECT, DOMAIN_SEQUENCE, projectOf, type ProjectRecord } from './projects.js';
import { DEFAULT_GROUP, defaultGroupRules } from './security-groups.js';
import type { ApiTokenRecord, CloudStore, StoreWriter, TokenStore, TokenWriter } from './store.js';

export const BACKUP_FORMAT = 'minicloud-store-backup';
export const BACKUP_FORMAT_VERSION = 1;
/** The version of the records a backup holds: the SQLite schema version that has them all (etcd holds the same records). */
export const RECORDS_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;
/** A backup file larger than this is refused rather than read into memory. */
export const MAX_BACKUP_BYTES = 512 * 1024 * 1024;

export interface StoreDump {
  /** The cloud's revision when dumped (a restore leaves the target's revision above both). */
  readonly revision: number;
  /** Every project, `default` too (a file of schema 4 or older has none: its records are all `default`'s). */
  readonly projects: ProjectRecord[];
  readonly nodes: NodeRecord[];
  readonly subnets: SubnetRecord[];
  readonly vms: VmRecord[];
  readonly securityGroups: SecurityGroupRecord[];
  /** Every floating IP (a file of schema 6 or older has none). */
  readonly floatingIps: FloatingIpRecord[];
  readonly nodeRemovals: NodeRemovalRecord[];
  readonly apiTokens: ApiTokenRecord[];
  /** Meta keys and values (sequences such as `seq:vm-port`...), without `revision` and the security id sequences. */
  readonly meta: Record<string, string>;
  /** The highest security group and rule ids ever handed out: not handed out again after a restore. */
  readonly securityIdHighWater: { readonly group: number; readonly rule: number };
}

export class BackupFileError extends Error {
  override readonly name = 'BackupFileError';
}

type Store = CloudStore & TokenStore;

/** Meta keys a dump carries elsewhere (the revision) or as the id high-water mark (etcd's id sequences). */
const OWN_META = new Set(['revision', 'seq:security-group-id', 'seq:security-rule-id']);

export function dumpStore(store: Store): StoreDump {
  const cloud = store.read((r) => ({
    revision: r.revision(),
    projects: r.listProjects(),
    nodes: r.listNodes(),
    subnets: r.listSubnets(),
    vms: r.listVms(),
    securityGroups: r.listSecurityGroups(),
    floatingIps: r.listFloatingIps(),
    nodeRemovals: r.listNodeRemovals(),
    meta: Object.fromEntries(r.listMeta().filter(([k]) => !OWN_META.has(k))),
    securityIdHighWater: r.securityIdHighWater(),
  }));
  return { ...cloud, apiTokens: store.readTokens((r) => r.listApiTokens()) };
}

/** A fresh store's one meta value: the default project's routing domain was the first handed out. */
const FRESH_DOMAIN_SEQUENCE = `seq:${DOMAIN_SEQUENCE}`;

/** No project but `default`, no node, subnet, VM, pending removal, API token, meta value, nor any security group but a fresh store's `default`. */
export function isEmptyStore(store: Store): boolean {
  const d = dumpStore(store);
  const onlyDefault = d.securityGroups.every((g) => g.name === DEFAULT_GROUP && g.rules.length === defaultGroupRules().length);
  return d.projects.every((p) => p.name === DEFAULT_PROJECT) && d.nodes.length + d.subnets.length + d.vms.length + d.floatingIps.length + d.nodeRemovals.length + d.apiTokens.length === 0 && Object.keys(d.meta).every((k) => k === FRESH_DOMAIN_SEQUENCE && d.meta[k] === '1') && onlyDefault;
}

/**
 * Replaces everything in `store` by `dump`: what is there is deleted, then the dump's records are inserted (with their
 * security ids), then meta, the id high-water mark, a revision above both the dump's and the target's, and a
 * generation epoch above both (generation.ts: the OpenFlow generations of the target's leaders stay above the ones
 * the switches were given before).
 * `batch` bounds the changes per transaction: SQLite takes them all in one (Infinity: all or nothing); etcd refuses
 * transactions of more than 128 operations (`--max-txn-ops`), so there the restore is several, and a restore cut
 * short is finished by running it again with `force`.
 */
export async function restoreDump(store: Store, dump: StoreDump, opts: { batch: number; at?: Date }): Promise<void> {
  const now = dumpStore(store);
  const steps: ((w: StoreWriter) => unknown)[] = [];
  // Clear: what refers to something first.
  for (const f of now.floatingIps) steps.push((w) => w.deleteFloatingIp(f.address));
  for (const v of now.vms) steps.push((w) => w.deleteVm(v));
  for (const r of now.nodeRemovals) steps.push((w) => w.deleteNodeRemoval(r.node.name));
  for (const g of now.securityGroups) for (const rule of g.rules) steps.push((w) => w.deleteSecurityRule(g, rule.id));
  for (const g of now.securityGroups) steps.push((w) => w.deleteSecurityGroup(g));
  for (const n of now.nodes) steps.push((w) => w.deleteNode(n.name));
  for (const s of now.subnets) steps.push((w) => w.deleteSubnet(s));
  // `default` always exists (the store's layout makes it): updated in place (keeping its creation time), never deleted.
  for (const p of now.projects) if (p.name !== DEFAULT_PROJECT) steps.push((w) => w.deleteProject(p.name));
  // Fill: what is referred to first.
  for (const p of dump.projects) steps.push((w) => (p.name === DEFAULT_PROJECT ? w.updateProject(p) : w.insertProject(p)));
  for (const n of dump.nodes) steps.push((w) => w.insertNode(n));
  for (const s of dump.subnets) steps.push((w) => w.insertSubnet(s));
  for (const g of dump.securityGroups) {
    steps.push((w) => w.insertSecurityGroup({ id: g.id, name: g.name, description: g.description, createdAt: g.createdAt, ...(g.project !== undefined && { project: g.project }) }));
  }
  const rules = dump.securityGroups.flatMap((g) => g.rules.map((rule) => ({ group: { project: projectOf(g), name: g.name }, rule }))).sort((a, b) => a.rule.id - b.rule.id);
  for (const { group, rule } of rules) {
    const { id, createdAt, ...spec } = rule;
    steps.push((w) => w.insertSecurityRule(group, spec, createdAt, id));
  }
  for (const v of dump.vms) steps.push((w) => w.insertVm(v));
  for (const f of dump.floatingIps) steps.push((w) => w.insertFloatingIp(f));
  for (const r of dump.nodeRemovals) steps.push((w) => w.putNodeRemoval(r));
  for (const [k, v] of Object.entries(dump.meta)) if (k !== GENERATION_EPOCH_META) steps.push((w) => w.setMeta(k, v));
  // Leaders on the target claim generations above every one the backup's control plane (or the target's) gave the
  // switches, though a fresh etcd cluster's revisions start again from 1 (generation.ts).
  const epoch = nextGenerationEpoch(parseGenerationEpoch(dump.meta[GENERATION_EPOCH_META]), parseGenerationEpoch(now.meta[GENERATION_EPOCH_META]), opts.at ?? new Date());
  steps.push((w) => w.setMeta(GENERATION_EPOCH_META, String(epoch)));
  steps.push((w) => w.reserveSecurityIds(dump.securityIdHighWater));
  steps.push((w) => w.setMeta('revision', String(Math.max(dump.revision, w.revision()))));
  for (let i = 0; i < steps.length; i += opts.batch) {
    const some = steps.slice(i, i + opts.batch);
    await store.write((w) => {
      for (const step of some) step(w);
    });
  }
  const tokenSteps: ((w: TokenWriter) => unknown)[] = [
    ...now.apiTokens.map((t) => (w: TokenWriter) => w.deleteApiToken(t.name)),
    ...dump.apiTokens.map((t) => (w: TokenWriter) => w.insertApiToken(t)),
  ];
  for (let i = 0; i < tokenSteps.length; i += opts.batch) {
    const some = tokenSteps.slice(i, i + opts.batch);
    await store.writeTokens((w) => {
      for (const step of some) step(w);
    });
  }
}

export function encodeBackup(dump: StoreDump, source: 'sqlite' | 'etcd', createdAt = new Date()): string {
  const cloud = JSON.stringify(dump);
  const sha256 = createHash('sha256').update(cloud).digest('hex');
  // `cloud` spliced in as the very text hashed.
  const head = JSON.stringify({ format: BACKUP_FORMAT, formatVersion: BACKUP_FORMAT_VERSION, schemaVersion: RECORDS_SCHEMA_VERSION, createdAt: createdAt.toISOString(), source, sha256 });
  return `${head.slice(0, -1)},"cloud":${cloud}}\n`;
}

export interface DecodedBackup {
  readonly dump: StoreDump;
  /** The schema version the file was written with (before any migration). */
  readonly schemaVersion: number;
  readonly source: string;
  readonly createdAt: string;
}

/** Parses and checks a backup file's text: format, checksum, schema version (migrating an older one). */
export function decodeBackup(text: string, name: string): DecodedBackup {
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new BackupFileError(`${name} is not a miniCloud backup (not JSON: ${(e as Error).message})`);
  }
  if (typeof file !== 'object' || file === null || file['format'] !== BACKUP_FORMAT) throw new BackupFileError(`${name} is not a miniCloud backup (no "format": "${BACKUP_FORMAT}")`);
  if (file['formatVersion'] !== BACKUP_FORMAT_VERSION) throw new BackupFileError(`${name} has backup format version ${String(file['formatVersion'])}; this program reads version ${BACKUP_FORMAT_VERSION}`);
  const schemaVersion = file['schemaVersion'];
  if (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion) || schemaVersion < 1) throw new BackupFileError(`${name} has no valid schemaVersion`);
  if (schemaVersion > RECORDS_SCHEMA_VERSION) {
    throw new BackupFileError(`${name} has schema version ${schemaVersion}, newer than this program knows (${RECORDS_SCHEMA_VERSION}); upgrade miniCloud first`);
  }
  const cloud = file['cloud'];
  if (typeof cloud !== 'object' || cloud === null) throw new BackupFileError(`${name} has no "cloud"`);
  const sha256 = createHash('sha256').update(JSON.stringify(cloud)).digest('hex');
  if (sha256 !== file['sha256']) throw new BackupFileError(`${name} fails its checksum (sha256 ${sha256}, the file says ${String(file['sha256'])}): it is damaged or was edited`);
  let body = cloud as Record<string, unknown>;
  for (const m of BACKUP_MIGRATIONS) if (m.from >= schemaVersion) body = m.up(body);
  return { dump: checkShape(body, name), schemaVersion, source: String(file['source']), createdAt: String(file['createdAt']) };
}

function checkShape(body: Record<string, unknown>, name: string): StoreDump {
  for (const key of ['nodes', 'subnets', 'vms', 'securityGroups', 'floatingIps', 'nodeRemovals', 'apiTokens'] as const) {
    if (!Array.isArray(body[key])) throw new BackupFileError(`${name}: "cloud.${key}" is not a list`);
  }
  const meta = body['meta'];
  if (typeof meta !== 'object' || meta === null || Object.values(meta).some((v) => typeof v !== 'string')) throw new BackupFileError(`${name}: "cloud.meta" is not a map of strings`);
  const hw = body['securityIdHighWater'] as { group?: unknown; rule?: unknown } | undefined;
  if (typeof body['revision'] !== 'number' || typeof hw?.group !== 'number' || typeof hw.rule !== 'number') throw new BackupFileError(`${name}: "cloud.revision" or "cloud.securityIdHighWater" is missing`);
  return body as unknown as StoreDump;
}

/**
 * Steps from the records of schema version `from` to `from + 1`, applied to an older file's `cloud` when it is read.
 * (Version 4 is the first the backup format was written at; the step to it shows the shape of one, and reads a
 * hand-made file of a v3 store: no security groups yet, so every VM joins `default`, as SQLite's migration v4 does.)
 */
export const BACKUP_MIGRATIONS: readonly { readonly from: number; up(cloud: Record<string, unknown>): Record<string, unknown> }[] = [
  {
    from: 3,
    up: (cloud) => {
      const createdAt = new Date().toISOString();
      const rules = defaultGroupRules().map((r, i) => ({ id: i + 1, ...r, createdAt }));
      const group: SecurityGroupRecord = { id: 1, name: DEFAULT_GROUP, description: 'every VM not given a group: all egress, ingress from members of default', rules, createdAt };
      const vms = Array.isArray(cloud['vms']) ? (cloud['vms'] as VmRecord[]).map((v) => ({ ...v, securityGroups: [DEFAULT_GROUP] })) : cloud['vms'];
      return { ...cloud, vms, securityGroups: [group], securityIdHighWater: { group: 1, rule: rules.length } };
    },
  },
  {
    // Files up to schema 5 carry no projects: their records are all `default`'s, which every store has.
    from: 5,
    up: (cloud) => ({ ...cloud, projects: Array.isArray(cloud['projects']) ? cloud['projects'] : [] }),
  },
  {
    // Files up to schema 7 carry no floating IPs (migration v8 adds them).
    from: 7,
    up: (cloud) => ({ ...cloud, floatingIps: Array.isArray(cloud['floatingIps']) ? cloud['floatingIps'] : [] }),
  },
  {
    // Files up to schema 8 name things uniquely across the cloud and their VMs carry no instance name: each VM keeps
    // its name on its node, as SQLite's migration v9 does.
    from: 8,
    up: (cloud) => ({ ...cloud, vms: Array.isArray(cloud['vms']) ? (cloud['vms'] as VmRecord[]).map((v) => ({ ...v, instance: v.instance ?? v.name })) : cloud['vms'] }),
  },
];
