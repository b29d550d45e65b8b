// The distributed store: the cloud in etcd, one JSON value per record under a prefix (default `/minicloud/`).
//
// Reads answer from a local snapshot of the whole prefix, loaded once and kept current by a watch (the controller
// compiles the whole cloud anyway, so it holds it all in memory whatever the store). A write runs its function
// against that snapshot through an overlay, then commits the overlay as one etcd transaction guarded by one key,
// the cloud's revision: `mod_revision(revision key) == the one the snapshot saw`. Any other committed cloud write
// changes that key, so the compare fails, the transaction's else-branch returns the prefix as it is now, the
// snapshot is replaced by it and the function runs again (bounded in count and time). One guard key rather than the
// keys read: allocation reads what is *absent* (a free IP is one no VM has), which per-key compares cannot guard
// without range checks, and every cloud write bumps the revision anyway. Writes of one process are queued locally,
// so they never conflict with each other, only with other controllers'.
//
// API tokens have their own guard key: a last-used time must not bump the cloud's revision.
//
// Exactly once. A transaction whose answer is lost (a timeout, a connection reset, the client's own retry of a
// request that had in fact committed) must be neither lost nor applied twice. Each store instance has a writer key
// of its own (`writers/<uuid>`), which only it writes: every transaction also compares that key's mod_revision with
// the one this instance last wrote and puts the operation's id into it. So (1) a second copy of a committed
// transaction fails its compare, and the else-branch shows the operation's id in the writer key: it is reported as
// done, not re-run; (2) a transaction whose outcome is unknown is settled before anything else is written: a fence
// transaction bumps the writer key if it is unchanged, after which the lost transaction can never commit (its
// compare fails), or finds the operation's id there, and then it did commit. Either way the answer is definite; the
// write is then finished or run again, within its time bound. (Rather than turning the client's retries off: they
// also carry reads over a member's failure, and with the fence they are harmless.)
//
// The watch. After a disconnection the etcd3 client resumes the watch from the last revision it saw in a header,
// which can skip events; and when that revision has been compacted, etcd cancels the watch (ErrCompacted) and the
// client only reports it. Either way the snapshot is reloaded whole (one range read, at one revision) and a new watch
// started just after that revision, so the snapshot is never a mix of two states and never stops following etcd.
import { randomUUID } from 'node:crypto';
import { Etcd3, type IOptions, type Namespace, type Watcher } from 'etcd3';
import { probeEtcdTls } from './etcd-tls-probe.js';
import { byAddress, type FloatingIpRecord } from './floating-ips.js';
import { DEFAULT_DOMAIN, MAX_DOMAIN } from './model.js';
import { vmInstanceName } from './names.js';
import { DEFAULT_PROJECT, DOMAIN_SEQUENCE, projectOf, type ProjectRecord } from './projects.js';
import type { CloudRecords, NodeRecord, NodeRemovalRecord, SecurityGroupRecord, SecurityRuleRecord, SubnetRecord, VmRecord } from './records.js';
import { DEFAULT_GROUP, defaultGroupRules, MAX_GROUP_ID, MAX_RULE_ID } from './security-groups.js';
import {
  StoreConflictError,
  StoreUnavailableError,
  type ApiTokenRecord,
  type CloudStore,
  type ScopedName,
  type StoreReader,
  type StoreWriter,
  type TokenReader,
  type TokenStore,
  type TokenWriter,
} from './store.js';

/** The layout version of the keys and values; bumped with a migration in ETCD_MIGRATIONS. */
export const ETCD_SCHEMA_VERSION = 4;

export interface EtcdStoreOptions {
  readonly endpoints: readonly string[];
  /** Key prefix; default '/minicloud/'. Two clouds on one etcd differ by prefix. */
  readonly prefix?: string;
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** Deadline of one etcd request, and of opening the store (ms). Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Bound of one write's retries on conflict: count (default 50) and time (default 15000 ms). */
  readonly maxAttempts?: number;
  readonly maxWriteMs?: number;
  /**
   * Fault injection for tests: every transaction is sent through this (to lose its answer, or send it twice, as a
   * timeout or the client's retry would). Not for production use.
   */
  readonly interceptTxn?: (send: () => Promise<TxnResponse>) => Promise<TxnResponse>;
}

export type TxnResponse = Awaited<ReturnType<ReturnType<Namespace['if']>['commit']>>;

/** The watch's reconnection delays: 100 ms doubling to 2 s, so a controller follows etcd again soon after it is back. */
class WatchBackoff {
  constructor(readonly duration = 100) {}
  next(): WatchBackoff {
    return new WatchBackoff(Math.min(this.duration * 2, 2000));
  }
}

// A security group is one record with its rules (`groups/<name>`); a VM's memberships are in its own record.
// Layout 2 added `projects/<name>` and a `project` field on subnets, VMs and groups (absent in layout 1's: `default`).
// Layout 3 gives every project its routing `domain` (the default project 1; `meta/seq:routing-domain` the last one
// handed out) and VMs of other projects a `transitIp`; subnet blocks and VM addresses are unique per project.
// Floating IPs are `fips/<address>`: a new kind of key, nothing to migrate (a store without any has none).
// Layout 4: names are unique per project, so subnets, VMs and groups are `<kind>/<project>/<name>` (SCOPED_KINDS) and a
// VM has its `instance` name on its node. Records of layout 3 (`<kind>/<name>`) are read where they are (a layout 3
// VM's instance name is its name), moved to their layout 4 key by `open` in bounded batches, and by any write of them.
type Kind = 'nodes' | 'subnets' | 'vms' | 'meta' | 'removals' | 'tokens' | 'groups' | 'projects' | 'fips';
const KINDS: readonly Kind[] = ['nodes', 'subnets', 'vms', 'meta', 'removals', 'tokens', 'groups', 'projects', 'fips'];
/** Kinds named per project: their records are keyed `<project>/<name>` in the tables (and in etcd from layout 4). */
const SCOPED_KINDS: ReadonlySet<Kind> = new Set(['subnets', 'vms', 'groups']);
/** A record's key in its table: `<project>/<name>` ('/' is in no name). */
const scopedKey = (ref: ScopedName): string => `${projectOf(ref)}/${ref.name}`;
/** Layout 3 keys moved in one transaction by `open` (etcd's --max-txn-ops is 128 by default: a delete and a put each). */
const MOVE_BATCH = 50;
const CLOUD_GUARD = 'guard/cloud';
const TOKEN_GUARD = 'guard/tokens';
const SCHEMA_KEY = 'schema';
const WRITERS = 'writers/';
/** A writer key untouched for this long belongs to a controller long gone; `open` removes it. */
const WRITER_KEY_TTL_MS = 24 * 3600_000;

/** Records of every kind by name; meta values are strings. */
type Tables = Record<Kind, Map<string, unknown>>;

const emptyTables = (): Tables => Object.fromEntries(KINDS.map((k) => [k, new Map()])) as Tables;

/** A unique-field or reference check failed: the same meaning as SQLite's UNIQUE / FOREIGN KEY constraints. */
export class StoreConstraintError extends Error {
  override readonly name = 'StoreConstraintError';
}

export class EtcdStoreSchemaError extends Error {
  override readonly name = 'EtcdStoreSchemaError';
}

interface Snapshot {
  tables: Tables;
  /** Layout 3 keys still in etcd (`vms/<name>`), by the table key their record has (`vms/<project>/<name>`), and back. */
  legacy: Map<string, string>;
  legacyOf: Map<string, string>;
  /** etcd revision the snapshot is at. */
  rev: number;
  /** mod_revision of each guard key (0: absent). */
  guards: Map<string, number>;
}

/** Pending changes of one write: a value, or null for a delete. */
type Overlay = Record<Kind, Map<string, unknown>>;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A new store's `default` group (all egress, ingress from its own members) and the id sequences it used, written in
 * the transaction that creates the layout, as SQLite's migration v4 makes it (not a change of the cloud: no revision).
 */
function defaultGroupPuts(ns: Namespace): ReturnType<Namespace['put']>[] {
  const createdAt = new Date().toISOString();
  const rules: SecurityRuleRecord[] = defaultGroupRules().map((r, i) => ({ id: i + 1, ...r, createdAt }));
  const group: SecurityGroupRecord = { id: 1, name: DEFAULT_GROUP, description: 'every VM not given a group: all egress, ingress from members of default', rules, createdAt };
  return [
    ns.put(`groups/${scopedKey({ project: DEFAULT_PROJECT, name: DEFAULT_GROUP })}`).value(JSON.stringify({ ...group, project: DEFAULT_PROJECT })),
    ns.put('meta/seq:security-group-id').value('1'),
    ns.put(`meta/seq:security-rule-id`).value(String(rules.length)),
  ];
}

/** The default project, as SQLite's migration v5 makes it: written with a new layout, and by the step from layout 1. */
function defaultProjectPut(ns: Namespace): ReturnType<Namespace['put']> {
  const project: ProjectRecord = {
    name: DEFAULT_PROJECT,
    description: 'everything made before projects existed, and what requests naming no project make',
    quotas: {},
    createdAt: new Date().toISOString(),
    domain: DEFAULT_DOMAIN,
  };
  return ns.put(`projects/${DEFAULT_PROJECT}`).value(JSON.stringify(project));
}

/** Layout 2 -> 3: a routing domain for every project, the default one's 1, the others' in creation order. */
function domainPuts(ns: Namespace, projects: readonly ProjectRecord[]): ReturnType<Namespace['put']>[] {
  const others = projects
    .filter((p) => p.name !== DEFAULT_PROJECT)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : byCodePoint(a.name, b.name)));
  const puts = others.map((p, i) => ns.put(`projects/${p.name}`).value(JSON.stringify({ ...p, domain: DEFAULT_DOMAIN + 1 + i })));
  const def = projects.find((p) => p.name === DEFAULT_PROJECT);
  if (def) puts.push(ns.put(`projects/${DEFAULT_PROJECT}`).value(JSON.stringify({ ...def, domain: DEFAULT_DOMAIN })));
  puts.push(ns.put(`meta/seq:${DOMAIN_SEQUENCE}`).value(String(DEFAULT_DOMAIN + others.length)));
  return puts;
}

/** Records of layout 1 carry no project: the default project's. */
function withProject<T extends { readonly project?: string }>(record: T | undefined): T | undefined {
  return record === undefined || record.project !== undefined ? record : { ...record, project: projectOf(record) };
}

export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const timeout = options.requestTimeoutMs ?? 5000;
  const clientOptions: IOptions = {
    hosts: [...options.endpoints],
    dialTimeout: timeout,
    faultHandling: { watchBackoff: new WatchBackoff() },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    ...(options.tls && {
      credentials: { rootCertificate: options.tls.ca, ...(options.tls.key && { privateKey: options.tls.key }), ...(options.tls.cert && { certChain: options.tls.cert }) },
    }),
  };
  const client = new Etcd3(clientOptions);
  const store = new EtcdStore(client, client.namespace(options.prefix ?? '/minicloud/'), options);
  try {
    await store.open();
    return store;
  } catch (e) {
    store.close();
    if (e instanceof EtcdStoreSchemaError) throw e;
    const tlsProblem = options.tls && (await probeEtcdTls(options.endpoints, options.tls, timeout));
    if (tlsProblem) throw new StoreUnavailableError(tlsProblem);
    throw new StoreUnavailableError(`etcd at ${options.endpoints.join(', ')}: ${errorText(e)}`);
  }
}

export class EtcdStore implements CloudStore, TokenStore {
  private snap: Snapshot = { tables: emptyTables(), legacy: new Map(), legacyOf: new Map(), rev: 0, guards: new Map() };
  private watcher: Watcher | undefined;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private readonly changeListeners = new Set<(rev: number) => void>();
  /** Writes of this process, one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly maxAttempts: number;
  private readonly maxWriteMs: number;
  private readonly timeoutMs: number;
  private readonly prefix: string;
  /** This instance's writer key, and the mod_revision it last gave it (0: not yet written). */
  private readonly writerKey = `${WRITERS}${randomUUID()}`;
  private writerMod = 0;
  private ops = 0;
  /** A transaction whose outcome is not known yet: settled before the next write. */
  private unsettled: string | undefined;
  private watchDown = false;
  private resyncing = false;
  /** Conflicts met by writes (re-runs), for metrics and tests. */
  conflicts = 0;
  /** Transactions whose answer was lost and whose outcome was then settled by the writer key; for tests. */
  settled = { committed: 0, fenced: 0 };
  /** Full reloads of the snapshot after the watch was compacted away or reconnected; for metrics and tests. */
  resyncs = 0;
  /** Why the last resync happened: 'reconnected', or the reason etcd gave for canceling the watch. */
  lastResyncReason: string | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly ns: Namespace,
    private readonly options: EtcdStoreOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 50;
    this.maxWriteMs = options.maxWriteMs ?? 15_000;
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.prefix = options.prefix ?? '/minicloud/';
  }

  /** Migrates (or initialises) the layout, loads the snapshot, starts the watch. */
  async open(): Promise<void> {
    const init = await this.ns
      .if(SCHEMA_KEY, 'Mod', '==', 0)
      .then(
        this.ns.put(SCHEMA_KEY).value(String(ETCD_SCHEMA_VERSION)),
        ...defaultGroupPuts(this.ns),
        defaultProjectPut(this.ns),
        this.ns.put(`meta/seq:${DOMAIN_SEQUENCE}`).value(String(DEFAULT_DOMAIN)),
      )
      .else(this.ns.get(SCHEMA_KEY))
      .commit();
    if (!init.succeeded) {
      const kv = init.responses[0]?.response_range?.kvs[0];
      const version = Number(kv?.value.toString() ?? 0);
      if (version > ETCD_SCHEMA_VERSION) {
        throw new EtcdStoreSchemaError(`the etcd store has schema version ${version}, newer than this program knows (${ETCD_SCHEMA_VERSION}); upgrade miniCloud first`);
      }
      // Older layouts are migrated here, each step one transaction guarded by the schema key (two controllers
      // starting at once: one does it, the other's compare fails and it sees the new version).
      if (version < 2) {
        const modRevision = kv?.mod_revision ?? '0';
        await this.ns
          .if(SCHEMA_KEY, 'Mod', '==', modRevision)
          .then(this.ns.put(SCHEMA_KEY).value('2'), defaultProjectPut(this.ns))
          .commit();
      }
      if (version < 3) await this.migrateToDomains();
      if (version < 4) await this.bumpSchema(3, 4);
    }
    await this.pruneWriterKeys();
    await this.reload();
    if (this.snap.legacy.size > 0) {
      await this.moveLegacyKeys();
      await this.reload();
    }
    await this.watch();
  }

  /**
   * Layout 2 -> 3 in one transaction guarded by the schema key's revision, and by every project key's: a project made
   * or changed meanwhile (by a controller of the old version) makes the compare fail, and the step runs again.
   */
  private async migrateToDomains(): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const schema = (await this.ns.get(SCHEMA_KEY).exec()).kvs[0];
      if (!schema || Number(schema.value.toString()) >= 3) return;
      const kvs = (await this.ns.getAll().prefix('projects/').exec()).kvs;
      let txn = this.ns.if(SCHEMA_KEY, 'Mod', '==', schema.mod_revision);
      for (const kv of kvs) txn = txn.and(kv.key.toString(), 'Mod', '==', kv.mod_revision);
      const projects = kvs.map((kv) => JSON.parse(kv.value.toString()) as ProjectRecord);
      const done = await txn.then(this.ns.put(SCHEMA_KEY).value('3'), ...domainPuts(this.ns, projects)).commit();
      if (done.succeeded) return;
    }
    throw new EtcdStoreSchemaError('could not move the etcd store to layout 3: its projects kept changing');
  }

  /** Sets the schema key from `from` to `to` (a layout whose records are read as they are and moved later). */
  private async bumpSchema(from: number, to: number): Promise<void> {
    const schema = (await this.ns.get(SCHEMA_KEY).exec()).kvs[0];
    if (!schema || Number(schema.value.toString()) !== from) return;
    await this.ns.if(SCHEMA_KEY, 'Mod', '==', schema.mod_revision).then(this.ns.put(SCHEMA_KEY).value(String(to))).commit();
  }

  /** Starts the watch just after the snapshot's revision. Events of a replaced watcher are ignored. */
  private async watch(): Promise<void> {
    const w = await this.ns
      .watch()
      .prefix('')
      .startRevision(String(this.snap.rev + 1))
      .create();
    if (this.closed) {
      void w.cancel().catch(() => {});
      return;
    }
    this.watcher = w;
    this.watchDown = false;
    w.on('data', (res) => {
      if (w !== this.watcher) return;
      let top = this.snap.rev;
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        if (rev <= this.snap.rev) continue;
        this.apply(this.snap, ev.kv.key.toString(), ev.type === 'Delete' ? null : ev.kv.value.toString(), rev);
        top = Math.max(top, rev);
      }
      this.advance(top);
    });
    w.on('disconnected', () => {
      if (w === this.watcher) this.watchDown = true;
    });
    w.on('connected', () => {
      if (w === this.watcher && this.watchDown) void this.resync(false, 'reconnected');
    });
    // Canceled by etcd: its start revision was compacted (ErrCompacted), or another reason. It is gone from the client.
    w.on('error', (e: unknown) => {
      if (w === this.watcher) void this.resync(true, errorText(e));
    });
  }

  /** Reloads the whole snapshot and watches again from there, retrying (100 ms to 2 s apart) until done or closed. */
  private async resync(canceled: boolean, reason: string): Promise<void> {
    if (this.resyncing || this.closed) return;
    this.resyncing = true;
    const old = this.watcher;
    this.watcher = undefined;
    if (old && !canceled) void old.cancel().catch(() => {});
    let delay = 100;
    try {
      while (!this.closed) {
        try {
          await this.reload();
          await this.watch();
          this.resyncs++;
          this.lastResyncReason = reason;
          return;
        } catch {
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 2000);
        }
      }
    } finally {
      this.resyncing = false;
    }
  }

  /** Removes the writer keys of instances that have not written for a day (their processes are long gone). */
  private async pruneWriterKeys(): Promise<void> {
    const res = await this.ns.getAll().prefix(WRITERS).exec();
    const old = Date.now() - WRITER_KEY_TTL_MS;
    for (const kv of res.kvs) {
      let at = 0;
      try {
        at = Date.parse((JSON.parse(kv.value.toString()) as { at?: string }).at ?? '');
      } catch {
        // not ours to judge: left alone
        continue;
      }
      // Only if untouched since read: an instance that writes now keeps its key.
      if (at < old) await this.ns.if(kv.key, 'Mod', '==', kv.mod_revision).then(this.ns.delete().key(kv.key)).commit();
    }
  }

  /** The schema version of the layout (for `minicloud store check`). */
  schemaVersion(): number {
    return ETCD_SCHEMA_VERSION;
  }

  read<T>(fn: (r: StoreReader) => T): T {
    return fn(this.cloudReader(this.snap.tables, undefined));
  }

  readTokens<T>(fn: (r: TokenReader) => T): T {
    return fn(this.tokenWriter(this.snap.tables, undefined));
  }

  write<T>(fn: (w: StoreWriter) => T): Promise<T> {
    return this.enqueue(() =>
      this.commit(CLOUD_GUARD, (tables, overlay) => {
        const w = this.cloudWriter(tables, overlay);
        const result = fn(w);
        w.setMeta('revision', String(w.revision() + 1));
        return result;
      }),
    );
  }

  writeTokens<T>(fn: (w: TokenWriter) => T): Promise<T> {
    return this.enqueue(() => this.commit(TOKEN_GUARD, (tables, overlay) => fn(this.tokenWriter(tables, overlay))));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.watcher?.cancel().catch(() => {});
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.client.close();
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => {});
    return run;
  }

  private async commit<T>(guard: string, run: (tables: Tables, overlay: Overlay) => T): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    const started = Date.now();
    if (this.unsettled !== undefined) await this.settle(started);
    for (let attempt = 1; ; attempt++) {
      const overlay = emptyTables() as Overlay;
      const seen = this.snap.guards.get(guard) ?? 0;
      let result: T;
      try {
        result = run(this.snap.tables, overlay);
      } catch (e) {
        // Refused on what this snapshot says (no such subnet, a name taken...): true only if the snapshot is current.
        // If another controller wrote since, run again on the cloud as it is now; else the caller gets the throw.
        if (attempt >= this.maxAttempts || !(await this.isStale(guard, seen))) throw e;
        continue;
      }
      const op = `${this.writerKey.slice(WRITERS.length)}#${++this.ops}`;
      const ops: Parameters<ReturnType<Namespace['if']>['then']>[number][] = [];
      for (const kind of KINDS) {
        for (const [name, value] of overlay[kind]) {
          const key = `${kind}/${name}`;
          // A record still at its layout 3 key moves to its layout 4 key with this write (or goes, deleted).
          const legacy = this.snap.legacy.get(key);
          if (legacy !== undefined) ops.push(this.ns.delete().key(legacy));
          ops.push(value === null ? this.ns.delete().key(key) : this.ns.put(key).value(kind === 'meta' ? String(value) : JSON.stringify(value)));
        }
      }
      ops.push(this.ns.put(this.writerKey).value(JSON.stringify({ op, at: new Date().toISOString() })));
      // The guard last: whoever sees it changed (the watch) has seen the rest of this transaction.
      ops.push(this.ns.put(guard).value(String(attempt)));
      const send = (): Promise<TxnResponse> =>
        this.ns
          .if(guard, 'Mod', '==', seen)
          .and(this.writerKey, 'Mod', '==', this.writerMod)
          .then(...ops)
          .else(this.ns.getAll().prefix(''))
          .commit();
      let res: TxnResponse;
      try {
        res = await (this.options.interceptTxn ? this.options.interceptTxn(send) : send());
      } catch (e) {
        // The answer is lost, not necessarily the transaction: find out which before anything else is written.
        this.unsettled = op;
        if (await this.settle(started, errorText(e))) {
          await this.caughtUp(this.writerMod);
          return result;
        }
        if (attempt >= this.maxAttempts) throw new StoreUnavailableError(`etcd did not confirm the write after ${attempt} attempts (${errorText(e)}); it is not applied`);
        continue;
      }
      const rev = Number(res.header.revision);
      if (res.succeeded) {
        this.writerMod = rev;
        await this.caughtUp(rev);
        return result;
      }
      const range = res.responses[0]?.response_range;
      const mine = range?.kvs.find((kv) => kv.key.toString().endsWith(this.writerKey));
      this.writerMod = Number(mine?.mod_revision ?? 0);
      if (range) this.replace(range.kvs, rev);
      // A second copy of a transaction that had committed (the client's retry after a lost answer): done once.
      if (mine !== undefined && writerOp(mine.value) === op) {
        this.settled.committed++;
        return result;
      }
      this.conflicts++;
      if (attempt >= this.maxAttempts || Date.now() - started > this.maxWriteMs) {
        throw new StoreConflictError(`the write still conflicted with other controllers' writes after ${attempt} attempts in ${Date.now() - started} ms`);
      }
    }
  }

  /**
   * Decides whether the transaction `this.unsettled` committed: true if it did, false if it did not and now never will
   * (fenced). Retries within the write's time bound; past it, throws StoreUnavailableError and the next write settles.
   */
  private async settle(started: number, cause?: string): Promise<boolean> {
    const op = this.unsettled!;
    let delay = 100;
    let last = cause ?? 'etcd did not answer';
    while (!this.closed && Date.now() - started <= this.maxWriteMs) {
      try {
        const res = await this.ns
          .if(this.writerKey, 'Mod', '==', this.writerMod)
          .then(this.ns.put(this.writerKey).value(JSON.stringify({ fenced: op, at: new Date().toISOString() })))
          .else(this.ns.get(this.writerKey))
          .commit();
        const kv = res.succeeded ? undefined : res.responses[0]?.response_range?.kvs[0];
        this.writerMod = res.succeeded ? Number(res.header.revision) : Number(kv?.mod_revision ?? 0);
        if (res.succeeded || writerOp(kv?.value) === op) {
          this.unsettled = undefined;
          this.settled[res.succeeded ? 'fenced' : 'committed']++;
          return !res.succeeded;
        }
        // Changed by something else than `op` (removed as stale): fence again on what it is now.
      } catch (e) {
        last = errorText(e);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
    throw new StoreUnavailableError(
      `etcd did not confirm the write (${last}); whether it was applied is not known yet (it is settled before the next write, once etcd has its quorum again)`,
    );
  }

  /** Whether etcd's guard key moved past `seen` (reloading the snapshot if so). */
  private async isStale(guard: string, seen: number): Promise<boolean> {
    let res;
    try {
      res = await this.ns.get(guard).exec();
    } catch (e) {
      throw new StoreUnavailableError(`etcd cannot be read: ${errorText(e)}`);
    }
    const now = Number(res.kvs[0]?.mod_revision ?? 0);
    if (now === seen) return false;
    this.conflicts++;
    await this.reload();
    return true;
  }

  /** Resolves once the snapshot holds revision `rev` (the watch brought it), or reloads after a bounded wait. */
  private async caughtUp(rev: number): Promise<void> {
    if (this.snap.rev >= rev) return;
    const seen = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.timeoutMs);
      this.waiters.push({ rev, resolve: () => (clearTimeout(timer), resolve(true)) });
    });
    if (!seen && !this.closed) {
      try {
        await this.reload();
      } catch {
        // Committed but not yet visible here: the watch will bring it.
      }
    }
  }

  /**
   * Calls `listener` after the snapshot moved to a newer etcd revision (any controller's write, seen through the
   * watch, or a reload): how a controller learns of changes it did not make. Returns the unsubscribe function.
   */
  onChange(listener: (rev: number) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private advance(rev: number): void {
    if (rev <= this.snap.rev) return;
    this.snap.rev = rev;
    const ready = this.waiters.filter((w) => w.rev <= rev);
    this.waiters = this.waiters.filter((w) => w.rev > rev);
    for (const w of ready) w.resolve();
    for (const l of this.changeListeners) l(rev);
  }

  private async reload(): Promise<void> {
    const res = await this.ns.getAll().prefix('').exec();
    this.replace(res.kvs, Number(res.header.revision));
  }

  private replace(kvs: readonly { key: Buffer; value: Buffer; mod_revision: string }[], rev: number): void {
    if (rev <= this.snap.rev && this.snap.rev > 0) return;
    const next: Snapshot = { tables: emptyTables(), legacy: new Map(), legacyOf: new Map(), rev: this.snap.rev, guards: new Map() };
    for (const kv of kvs) this.apply(next, kv.key.toString(), kv.value.toString(), Number(kv.mod_revision));
    this.snap = next;
    this.advance(rev);
  }

  private apply(snap: Snapshot, fullKey: string, value: string | null, modRevision: number): void {
    // The namespace strips the prefix from ranges and watch events, not from a transaction's responses.
    const key = fullKey.startsWith(this.prefix) ? fullKey.slice(this.prefix.length) : fullKey;
    if (key.startsWith('guard/')) {
      if (value === null) snap.guards.delete(key);
      else snap.guards.set(key, modRevision);
      return;
    }
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash) as Kind;
    const table = snap.tables[kind];
    if (!table) return; // the schema key, or a key of a later layout
    let name = key.slice(slash + 1);
    if (SCOPED_KINDS.has(kind) && !name.includes('/')) {
      // A layout 3 key: the record is filed under its (project, name), and where it is in etcd remembered.
      const was = snap.legacyOf.get(key);
      if (was !== undefined) {
        snap.legacyOf.delete(key);
        snap.legacy.delete(was);
        table.delete(was.slice(slash + 1));
      }
      if (value === null) return;
      const record = JSON.parse(value) as { project?: string; name: string; instance?: string };
      name = scopedKey(record);
      snap.legacy.set(`${kind}/${name}`, key);
      snap.legacyOf.set(key, `${kind}/${name}`);
      table.set(name, kind === 'vms' ? { ...record, instance: record.instance ?? record.name } : record);
      return;
    }
    if (value === null) table.delete(name);
    else table.set(name, kind === 'meta' ? value : JSON.parse(value));
  }

  /**
   * Moves layout 3 keys to their layout 4 place, MOVE_BATCH records a transaction, each guarded by its key's
   * revision (a record written meanwhile is moved by that write). Bounded: a batch that fails is left for a later open.
   */
  private async moveLegacyKeys(): Promise<void> {
    const moves = [...this.snap.legacy.entries()];
    for (let i = 0; i < moves.length; i += MOVE_BATCH) {
      const batch = moves.slice(i, i + MOVE_BATCH);
      const kvs = await Promise.all(batch.map(([, old]) => this.ns.get(old).exec()));
      let txn: ReturnType<Namespace['if']> | undefined;
      const ops: ReturnType<Namespace['put']>[] = [];
      const deletes: ReturnType<ReturnType<Namespace['delete']>['key']>[] = [];
      batch.forEach(([target, old], j) => {
        const kv = kvs[j]!.kvs[0];
        if (!kv) return;
        txn = txn ? txn.and(old, 'Mod', '==', kv.mod_revision) : this.ns.if(old, 'Mod', '==', kv.mod_revision);
        const record = withProject(JSON.parse(kv.value.toString()) as { project?: string; name: string; instance?: string })!;
        const moved = target.startsWith('vms/') ? { ...record, instance: record.instance ?? record.name } : record;
        deletes.push(this.ns.delete().key(old));
        ops.push(this.ns.put(target).value(JSON.stringify(moved)));
      });
      if (txn) await (txn as ReturnType<Namespace['if']>).then(...deletes, ...ops).commit();
    }
  }

  // --- readers and writers over the snapshot (and a write's overlay)

  private get<T>(tables: Tables, overlay: Overlay | undefined, kind: Kind, name: string): T | undefined {
    const pending = overlay?.[kind].get(name);
    if (pending !== undefined) return pending === null ? undefined : (pending as T);
    return tables[kind].get(name) as T | undefined;
  }

  private list<T>(tables: Tables, overlay: Overlay | undefined, kind: Kind): T[] {
    const merged = new Map(tables[kind]);
    if (overlay) {
      for (const [name, value] of overlay[kind]) {
        if (value === null) merged.delete(name);
        else merged.set(name, value);
      }
    }
    const records = [...merged.keys()].sort(byCodePoint).map((name) => merged.get(name) as T);
    // Named per project: in name order, then project (as SQLite's ORDER BY name, project).
    if (SCOPED_KINDS.has(kind)) (records as ScopedName[]).sort((a, b) => byCodePoint(a.name, b.name) || byCodePoint(projectOf(a), projectOf(b)));
    return records;
  }

  private cloudReader(tables: Tables, overlay: Overlay | undefined): StoreReader {
    const get = <T>(kind: Kind, name: string): T | undefined => this.get<T>(tables, overlay, kind, name);
    const list = <T>(kind: Kind): T[] => this.list<T>(tables, overlay, kind);
    const reader: StoreReader = {
      listNodes: () => list<NodeRecord>('nodes'),
      getNode: (name) => get<NodeRecord>('nodes', name),
      listSubnets: () => list<SubnetRecord>('subnets').map((s) => withProject(s)!),
      getSubnet: (ref) => withProject(get<SubnetRecord>('subnets', scopedKey(ref))),
      listVms: (filter = {}) =>
        list<VmRecord>('vms')
          .map((v) => withProject(v)!)
          .filter(
            (v) =>
              (filter.project === undefined || v.project === filter.project) &&
              (filter.node === undefined || v.node === filter.node) &&
              (filter.subnet === undefined || (v.subnet === filter.subnet.name && v.project === projectOf(filter.subnet))) &&
              (filter.gateway === undefined || v.gateway === filter.gateway),
          ),
      getVm: (ref) => withProject(get<VmRecord>('vms', scopedKey(ref))),
      records: (): CloudRecords => ({
        nodes: reader.listNodes(),
        subnets: reader.listSubnets(),
        vms: reader.listVms(),
        securityGroups: reader.listSecurityGroups(),
        floatingIps: reader.listFloatingIps(),
        projects: reader.listProjects(),
      }),
      listSecurityGroups: () => list<SecurityGroupRecord>('groups').map((g) => withProject(g)!),
      getSecurityGroup: (ref) => withProject(get<SecurityGroupRecord>('groups', scopedKey(ref))),
      listProjects: () => list<ProjectRecord>('projects'),
      getProject: (name) => get<ProjectRecord>('projects', name),
      listFloatingIps: (filter = {}) =>
        list<FloatingIpRecord>('fips')
          .filter(
            (f) =>
              (filter.gateway === undefined || f.gateway === filter.gateway) &&
              (filter.project === undefined || f.project === filter.project) &&
              (filter.vm === undefined || (f.vm === filter.vm.name && f.project === projectOf(filter.vm))),
          )
          .sort(byAddress),
      getFloatingIp: (address) => get<FloatingIpRecord>('fips', address),
      revision: () => Number(get<string>('meta', 'revision') ?? 0),
      getMeta: (key) => get<string>('meta', key),
      listMeta: () => {
        const merged = new Map(tables.meta as Map<string, string>);
        for (const [k, v] of overlay?.meta ?? []) {
          if (v === null) merged.delete(k);
          else merged.set(k, v as string);
        }
        return [...merged.entries()].sort((a, b) => byCodePoint(a[0], b[0]));
      },
      securityIdHighWater: () => ({ group: Number(get<string>('meta', 'seq:security-group-id') ?? 0), rule: Number(get<string>('meta', 'seq:security-rule-id') ?? 0) }),
      listNodeRemovals: () => list<NodeRemovalRecord>('removals'),
      getNodeRemoval: (name) => get<NodeRemovalRecord>('removals', name),
    };
    return reader;
  }

  private cloudWriter(tables: Tables, overlay: Overlay): StoreWriter {
    const r = this.cloudReader(tables, overlay);
    const set = (kind: Kind, name: string, value: unknown): void => void overlay[kind].set(name, value);
    const del = (kind: Kind, name: string): boolean => {
      if (this.get(tables, overlay, kind, name) === undefined) return false;
      overlay[kind].set(name, null);
      return true;
    };
    // The constraints SQLite's schema holds (UNIQUE, FOREIGN KEY), with the same meaning: a second line of defence
    // behind the domain's own checks.
    const unique = <T>(kind: Kind, record: T, fields: readonly (keyof T & string)[], name: string): void => {
      if (this.get(tables, overlay, kind, name) !== undefined) throw new StoreConstraintError(`UNIQUE constraint failed: ${kind}.name (${name})`);
      for (const other of this.list<T>(tables, overlay, kind)) {
        for (const f of fields) if (other[f] === record[f]) throw new StoreConstraintError(`UNIQUE constraint failed: ${kind}.${f} (${String(record[f])})`);
      }
    };
    const mustExist = (kind: Kind, name: string, what: string): void => {
      if (this.get(tables, overlay, kind, name) === undefined) throw new StoreConstraintError(`FOREIGN KEY constraint failed: ${what} '${name}' does not exist`);
    };
    const nextSequence = (name: string): number => {
      const next = Number(r.getMeta(`seq:${name}`) ?? 0) + 1;
      set('meta', `seq:${name}`, String(next));
      return next;
    };
    /** A given id (a restore) or the next one; the sequence never goes back. */
    const takeId = (name: string, id: number | undefined): number => {
      if (id === undefined) return nextSequence(name);
      if (Number(r.getMeta(`seq:${name}`) ?? 0) < id) set('meta', `seq:${name}`, String(id));
      return id;
    };
    /** A VM's groups (of its project) as SQLite lists them: by name, `default` when none. */
    const memberships = (project: string, groups: readonly string[]): string[] => {
      const list = groups.length > 0 ? [...new Set(groups)].sort(byCodePoint) : [DEFAULT_GROUP];
      for (const g of list) mustExist('groups', scopedKey({ project, name: g }), 'security group');
      return list;
    };
    return {
      ...r,
      insertNode: (n) => {
        unique('nodes', n, [], n.name);
        set('nodes', n.name, n);
      },
      deleteNode: (name) => {
        if (r.listVms({ node: name }).length > 0 || r.listVms({ gateway: name }).length > 0) {
          throw new StoreConstraintError(`FOREIGN KEY constraint failed: node '${name}' has VMs`);
        }
        if (r.listFloatingIps({ gateway: name }).length > 0) throw new StoreConstraintError(`FOREIGN KEY constraint failed: node '${name}' has floating IPs`);
        return del('nodes', name);
      },
      insertSubnet: (s) => {
        unique('subnets', s, ['vni'], scopedKey(s));
        mustExist('projects', projectOf(s), 'project');
        if (r.listSubnets().some((o) => o.project === projectOf(s) && o.cidr === s.cidr)) throw new StoreConstraintError(`UNIQUE constraint failed: subnets.cidr (${s.cidr} in project ${projectOf(s)})`);
        set('subnets', scopedKey(s), { ...s, project: projectOf(s) });
      },
      deleteSubnet: (ref) => {
        if (r.listVms({ subnet: ref }).length > 0) throw new StoreConstraintError(`FOREIGN KEY constraint failed: subnet '${ref.name}' has VMs`);
        return del('subnets', scopedKey(ref));
      },
      insertVm: (v) => {
        const project = projectOf(v);
        mustExist('subnets', scopedKey({ project, name: v.subnet }), 'subnet');
        mustExist('nodes', v.node, 'node');
        mustExist('nodes', v.gateway, 'gateway');
        const instance = v.instance ?? vmInstanceName(project, v.name);
        const record = { ...v, project, instance };
        unique('vms', record, ['mac', 'instance'], scopedKey(v));
        mustExist('projects', project, 'project');
        if (r.listVms({ node: v.node }).some((o) => o.port === v.port)) throw new StoreConstraintError(`UNIQUE constraint failed: vms.node, vms.port (${v.node}, ${v.port})`);
        if (r.listVms({ project }).some((o) => o.ip === v.ip)) throw new StoreConstraintError(`UNIQUE constraint failed: vms.ip (${v.ip} in project ${project})`);
        if (v.transitIp !== undefined && r.listVms().some((o) => o.transitIp === v.transitIp)) throw new StoreConstraintError(`UNIQUE constraint failed: vms.transit_ip (${v.transitIp})`);
        set('vms', scopedKey(v), { ...record, securityGroups: memberships(project, v.securityGroups ?? []) });
      },
      setVmState: (ref, state, error) => {
        const vm = r.getVm(ref);
        if (!vm) return;
        const { error: _old, ...rest } = vm;
        set('vms', scopedKey(ref), { ...rest, state, ...(error !== undefined && { error }) });
      },
      setVmGateway: (ref, gateway) => {
        const vm = r.getVm(ref);
        if (!vm) return false;
        mustExist('nodes', gateway, 'gateway');
        set('vms', scopedKey(ref), { ...vm, gateway });
        return true;
      },
      setVmTransitIp: (ref, transitIp) => {
        const vm = r.getVm(ref);
        if (!vm) return false;
        if (r.listVms().some((o) => scopedKey(o) !== scopedKey(ref) && o.transitIp === transitIp)) throw new StoreConstraintError(`UNIQUE constraint failed: vms.transit_ip (${transitIp})`);
        set('vms', scopedKey(ref), { ...vm, transitIp });
        return true;
      },
      deleteVm: (ref) => {
        if (r.listFloatingIps({ vm: ref }).length > 0) throw new StoreConstraintError(`FOREIGN KEY constraint failed: a floating IP is attached to VM '${ref.name}'`);
        return del('vms', scopedKey(ref));
      },
      setMeta: (key, value) => set('meta', key, value),
      putNodeRemoval: (removal) => set('removals', removal.node.name, removal),
      deleteNodeRemoval: (name) => del('removals', name),
      nextSequence,
      insertSecurityGroup: (g) => {
        if (r.getSecurityGroup(g)) throw new StoreConstraintError(`UNIQUE constraint failed: security_groups.project, security_groups.name (${projectOf(g)}, ${g.name})`);
        mustExist('projects', projectOf(g), 'project');
        if (g.id !== undefined && r.listSecurityGroups().some((o) => o.id === g.id)) throw new StoreConstraintError(`UNIQUE constraint failed: security_groups.id (${g.id})`);
        const id = takeId('security-group-id', g.id);
        if (id > MAX_GROUP_ID) throw new StoreConstraintError(`CHECK constraint failed: security group ids are used up (${MAX_GROUP_ID})`);
        const record: SecurityGroupRecord = { id, name: g.name, project: projectOf(g), description: g.description, rules: [], createdAt: g.createdAt };
        set('groups', scopedKey(g), record);
        return id;
      },
      deleteSecurityGroup: (ref) => {
        const project = projectOf(ref);
        if (r.listVms({ project }).some((v) => (v.securityGroups ?? []).includes(ref.name))) throw new StoreConstraintError(`FOREIGN KEY constraint failed: security group '${ref.name}' has VMs`);
        const others = r.listSecurityGroups().filter((g) => projectOf(g) === project && g.name !== ref.name);
        if (others.some((g) => g.rules.some((rule) => rule.remoteGroup === ref.name))) {
          throw new StoreConstraintError(`FOREIGN KEY constraint failed: a rule of another group names security group '${ref.name}'`);
        }
        return del('groups', scopedKey(ref));
      },
      insertSecurityRule: (group, rule, createdAt, ruleId) => {
        const g = r.getSecurityGroup(group);
        if (!g) throw new StoreConstraintError(`FOREIGN KEY constraint failed: security group '${group.name}' does not exist`);
        if (rule.remoteGroup !== undefined && rule.remoteGroup !== group.name) mustExist('groups', scopedKey({ project: projectOf(group), name: rule.remoteGroup }), 'security group');
        if (ruleId !== undefined && r.listSecurityGroups().some((o) => o.rules.some((x) => x.id === ruleId))) {
          throw new StoreConstraintError(`UNIQUE constraint failed: security_rules.id (${ruleId})`);
        }
        const id = takeId('security-rule-id', ruleId);
        if (id > MAX_RULE_ID) throw new StoreConstraintError(`CHECK constraint failed: security rule ids are used up (${MAX_RULE_ID})`);
        const record: SecurityRuleRecord = {
          id,
          direction: rule.direction,
          protocol: rule.protocol,
          ...(rule.portMin !== undefined && { portMin: rule.portMin }),
          ...(rule.portMax !== undefined && { portMax: rule.portMax }),
          ...(rule.icmpType !== undefined && { icmpType: rule.icmpType }),
          ...(rule.icmpCode !== undefined && { icmpCode: rule.icmpCode }),
          ...(rule.remoteCidr !== undefined && { remoteCidr: rule.remoteCidr }),
          ...(rule.remoteGroup !== undefined && { remoteGroup: rule.remoteGroup }),
          createdAt,
        };
        set('groups', scopedKey(group), { ...g, rules: [...g.rules, record] });
        return id;
      },
      deleteSecurityRule: (group, id) => {
        const g = r.getSecurityGroup(group);
        if (!g || !g.rules.some((rule) => rule.id === id)) return false;
        set('groups', scopedKey(group), { ...g, rules: g.rules.filter((rule) => rule.id !== id) });
        return true;
      },
      reserveSecurityIds: (upTo) => {
        takeId('security-group-id', upTo.group);
        takeId('security-rule-id', upTo.rule);
      },
      setVmSecurityGroups: (ref, groups) => {
        const v = r.getVm(ref);
        if (!v) return;
        set('vms', scopedKey(ref), { ...v, securityGroups: memberships(projectOf(v), groups) });
      },
      insertProject: (p) => {
        unique('projects', p, [], p.name);
        if (p.domain !== undefined && r.listProjects().some((o) => o.domain === p.domain)) throw new StoreConstraintError(`UNIQUE constraint failed: projects.domain (${p.domain})`);
        const domain = takeId(DOMAIN_SEQUENCE, p.domain);
        if (domain > MAX_DOMAIN) throw new StoreConstraintError(`CHECK constraint failed: routing domain ids are used up (${MAX_DOMAIN})`);
        set('projects', p.name, { ...p, domain });
      },
      updateProject: (p) => {
        const was = r.getProject(p.name);
        if (!was) return false;
        // The domain stays the project's for good, whatever the update carries.
        const { domain: _given, ...rest } = p;
        set('projects', p.name, { ...rest, ...(was.domain !== undefined && { domain: was.domain }) });
        return true;
      },
      insertFloatingIp: (f) => {
        if (r.getFloatingIp(f.address)) throw new StoreConstraintError(`UNIQUE constraint failed: floating_ips.address (${f.address})`);
        mustExist('nodes', f.gateway, 'gateway');
        mustExist('projects', projectOf(f), 'project');
        if (f.vm !== undefined) {
          const vm = { project: projectOf(f), name: f.vm };
          mustExist('vms', scopedKey(vm), 'VM');
          if (r.listFloatingIps({ vm }).length > 0) throw new StoreConstraintError(`UNIQUE constraint failed: floating_ips.vm (${f.vm})`);
        }
        set('fips', f.address, { ...f, project: projectOf(f) });
      },
      setFloatingIpVm: (address, vm) => {
        const f = r.getFloatingIp(address);
        if (!f) return false;
        if (vm !== undefined) {
          const ref = { project: projectOf(f), name: vm };
          mustExist('vms', scopedKey(ref), 'VM');
          if (r.listFloatingIps({ vm: ref }).some((o) => o.address !== address)) throw new StoreConstraintError(`UNIQUE constraint failed: floating_ips.vm (${vm})`);
        }
        const { vm: _old, ...rest } = f;
        set('fips', address, vm === undefined ? rest : { ...rest, vm });
        return true;
      },
      deleteFloatingIp: (address) => del('fips', address),
      deleteProject: (name) => {
        const owns =
          r.listSubnets().some((s) => s.project === name) ||
          r.listVms({ project: name }).length > 0 ||
          r.listSecurityGroups().some((g) => g.project === name) ||
          r.listFloatingIps({ project: name }).length > 0;
        if (owns) throw new StoreConstraintError(`FOREIGN KEY constraint failed: project '${name}' still owns records`);
        return del('projects', name);
      },
    };
  }

  private tokenWriter(tables: Tables, overlay: Overlay | undefined): TokenWriter {
    const byId = (id: string): ApiTokenRecord | undefined => this.get<ApiTokenRecord>(tables, overlay, 'tokens', id);
    const all = (): ApiTokenRecord[] => this.list<ApiTokenRecord>(tables, overlay, 'tokens').sort((a, b) => byCodePoint(a.name, b.name));
    const pending = (): Overlay => {
      if (!overlay) throw new Error('a token write outside writeTokens');
      return overlay;
    };
    return {
      getApiToken: byId,
      listApiTokens: all,
      insertApiToken: (t) => {
        if (byId(t.id) !== undefined || all().some((o) => o.name === t.name)) throw new StoreConstraintError(`UNIQUE constraint failed: api_tokens (${t.name})`);
        pending().tokens.set(t.id, t);
      },
      deleteApiToken: (name) => {
        const t = all().find((o) => o.name === name);
        if (!t) return false;
        pending().tokens.set(t.id, null);
        return true;
      },
      setApiTokenLastUsed: (id, at) => {
        const t = byId(id);
        if (t) pending().tokens.set(id, { ...t, lastUsedAt: at });
      },
    };
  }
}

/** The operation id a writer key's value holds, if any. */
function writerOp(value: Buffer | undefined): string | undefined {
  try {
    return value === undefined ? undefined : (JSON.parse(value.toString()) as { op?: string }).op;
  } catch {
    return undefined;
  }
}

/** SQLite's ORDER BY on TEXT (BINARY collation): code units, not locale. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
