// Reconciling one datapath: read what the switch has, diff against what we want, apply the difference in one
// atomic bundle (a difference of a single flow mod, atomic by itself, goes bare with a barrier). Syncs of one
// connection are serialised and coalesced.
//
// Cost model: each desired flow object is encoded once (cached by identity, see flow-key.ts) and indexed by its key
// while the switch collects its flow stats; the reply's entries are looked up and compared on their bytes, so an
// entry equal to a desired flow becomes a compact InstalledFlow sharing that flow's strings (no string of its own:
// a restart that finds every switch right allocates little more than the cache it keeps, see diff.ts); flow mods
// are written from the cached bytes. From the cache
// (`source: 'cache'`), a desired list sharing its objects with the last one costs a pointer comparison per flow and
// a map lookup per changed one. Desired flow objects must therefore never be mutated.
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import {
  flowIdentityOfKey,
  FlowModWriter,
  MessageEncoder,
  OFP_MAX_MESSAGE_LEN,
  OFP_NO_BUFFER,
  OFPFC,
  OFPG,
  OFPGC,
  OFPMC,
  OFPP,
  OFPTT,
  type BundleTarget,
  type FlowModHead,
  type Message,
} from '../openflow/index.js';
import { BundleStream, type BundleOpEncoder, type BundleOptions } from './bundle.js';
import { requestInfo, type OfConnection, type Outgoing } from './connection.js';
import type { Datapath } from './datapaths.js';
import {
  addFlowStatsPart,
  checkFlowStatsPart,
  diffDesired,
  diffDesiredInSlices,
  diffGroups,
  diffMeters,
  FlowDiffer,
  InstalledFlow,
  installedGroupsFromDesc,
  installedMetersFromConfig,
  flowModCount,
  indexDesiredSteps,
  installCookie,
  linkDesiredSteps,
  ownershipKey,
  type DesiredFlow,
  type DesiredGroup,
  type DesiredMeter,
  type FlowDiff,
  type FlowPlan,
  type GroupPlan,
  type InstalledState,
  type MeterPlan,
  type Ownership,
} from './diff.js';
import { countDrift } from './drift.js';
import { encodedFlow, groupFingerprint, meterFingerprint } from './flow-key.js';
import type { SwitchError } from './errors.js';
import { silentLogger } from './log.js';
import { nextTurn, runInTurns, type Pause } from './turns.js';

export type { DesiredFlow, DesiredGroup, DesiredMeter } from './diff.js';

export interface DesiredState {
  readonly flows: readonly DesiredFlow[];
  /** When given, the switch's groups are reconciled too (all groups are ours unless `ownsGroup` says otherwise). */
  readonly groups?: readonly DesiredGroup[];
  /**
   * When given, meters too (all ours unless `ownsMeter` says otherwise). OVS does not take meter mods inside a
   * bundle, so they go around it: new and changed meters before the bundle, removed ones after it.
   */
  readonly meters?: readonly DesiredMeter[];
}

export interface SyncOptions {
  /** Our cookie space: flows with (cookie & mask) === value are ours. Default value 0, mask 0: every flow is ours. */
  readonly cookie?: { readonly value: bigint; readonly mask: bigint };
  /** Tables whose foreign flows (other cookies) are deleted too. */
  readonly takeOverTables?: readonly number[] | 'all';
  readonly ownsGroup?: (groupId: number) => boolean;
  readonly ownsMeter?: (meterId: number) => boolean;
  /**
   * 'switch' (default) reads the switch's flows; 'cache' diffs against what our last successful sync of this
   * connection committed (fast incremental updates; falls back to 'switch' when there is no such state).
   */
  readonly source?: 'switch' | 'cache';
  /** Flow/group stats read timeout between reply parts (default 30 s). */
  readonly readTimeoutMs?: number;
  readonly bundle?: BundleOptions;
  /**
   * Awaited between chunks of CPU work (encoding, diffing): the next event-loop turn by default; the Controller
   * passes its TurnGate's, so that switches still connecting get their turns first (see turns.ts).
   */
  readonly pause?: Pause;
  readonly logger?: Logger;
}

export interface SyncStats {
  readonly added: number;
  /** MODIFY_STRICT (instructions changed) plus replacing ADDs (cookie, timeouts or flags changed). */
  readonly modified: number;
  readonly deleted: number;
  readonly unchanged: number;
  readonly groupsAdded: number;
  readonly groupsModified: number;
  readonly groupsDeleted: number;
  readonly metersAdded: number;
  readonly metersModified: number;
  readonly metersDeleted: number;
  /** Flow and group mods sent (0 when the switch was already right). */
  readonly flowMods: number;
  readonly groupMods: number;
  readonly meterMods: number;
  readonly bundles: number;
  /**
   * From the switch with a cache of our last commit to compare with: how many of the mods were drift (put back what
   * that commit installed and the switch lost or changed, or removed entries of ours it never installed) rather than
   * changes of the desired state (drift.ts). Undefined otherwise.
   */
  readonly drift?: number;
  readonly source: 'switch' | 'cache';
  readonly durationMs: number;
  /** Where the time went: reading the switch (0 from the cache), diffing, sending and committing the bundle. */
  readonly readMs: number;
  readonly diffMs: number;
  readonly applyMs: number;
}

type Target = Datapath | OfConnection;
const connectionOf = (t: Target): OfConnection => ('connection' in t ? t.connection : t);

const syncers = new WeakMap<OfConnection, Syncer>();

/**
 * Makes the datapath's flows (and groups, if given) equal to `desired`. Concurrent calls for one connection are
 * never interleaved: a call made while a sync runs waits for it, then one sync runs with the latest desired state
 * for all the calls that waited.
 */
export function sync(target: Target, desired: DesiredState, opts: SyncOptions = {}): Promise<SyncStats> {
  const conn = connectionOf(target);
  let s = syncers.get(conn);
  if (!s) {
    s = new Syncer(conn);
    syncers.set(conn, s);
  }
  return s.request(desired, opts);
}

interface Waiter {
  resolve(s: SyncStats): void;
  reject(e: Error): void;
}

class Syncer {
  private running = false;
  private next: { desired: DesiredState; opts: SyncOptions; fromSwitch: boolean; waiters: Waiter[] } | undefined;
  private installed: InstalledState | undefined;

  constructor(private readonly conn: OfConnection) {}

  request(desired: DesiredState, opts: SyncOptions): Promise<SyncStats> {
    return new Promise((resolve, reject) => {
      const fromSwitch = opts.source !== 'cache';
      if (!this.next) this.next = { desired, opts, fromSwitch, waiters: [] };
      else this.next = { desired, opts, fromSwitch: fromSwitch || this.next.fromSwitch, waiters: this.next.waiters };
      this.next.waiters.push({ resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.next) {
      const job = this.next;
      this.next = undefined;
      try {
        const stats = await this.run(job.desired, job.opts, job.fromSwitch);
        for (const w of job.waiters) w.resolve(stats);
      } catch (e) {
        // After a failure we no longer know for sure what the switch has.
        this.installed = undefined;
        for (const w of job.waiters) w.reject(e as Error);
      }
    }
    this.running = false;
  }

  private async run(desired: DesiredState, opts: SyncOptions, fromSwitch: boolean): Promise<SyncStats> {
    const t0 = performance.now();
    const log = (opts.logger ?? silentLogger).child({ dpid: this.conn.label });
    const own = ownershipOf(opts);
    const ownKey = ownershipKey(own);
    const cached = this.installed;
    const source: 'switch' | 'cache' =
      fromSwitch || !cached || cached.ownership !== ownKey || (desired.groups && !cached.groups) || (desired.meters && !cached.meters)
        ? 'switch'
        : 'cache';
    const pause = opts.pause ?? nextTurn;
    let installed: InstalledState;
    if (source === 'switch') {
      installed = await this.read(opts, desired, own, pause, cached?.ownership === ownKey ? cached.flows : undefined);
      // Reading ends in an I/O callback: the diff waits for a turn of its own.
      await pause();
    } else installed = cached!;
    installed.ownership = ownKey;
    const t1 = performance.now();

    const groups = desired.groups ? diffGroups(installed.groups ?? new Map(), desired.groups, opts.ownsGroup ?? (() => true)) : emptyGroupPlan;
    const meters = desired.meters ? diffMeters(installed.meters ?? new Map(), desired.meters, opts.ownsMeter ?? (() => true)) : emptyMeterPlan;
    // Whatever happens from here on, the cache is stale until the commit is confirmed.
    this.installed = undefined;
    // New and changed meters go first (flows in the bundle may use them): OVS takes no meter mods inside a bundle.
    await sendAndConfirm(this.conn, [...meters.adds.map((m) => meterMod(OFPMC.ADD, m)), ...meters.modifies.map((m) => meterMod(OFPMC.MODIFY, m))]);
    const { diff, bundles, diffMs } = await this.diffAndApply(installed, desired.flows, groups, own, source === 'cache', opts, pause);
    const flows = diff.plan;
    await sendAndConfirm(this.conn, meters.deletes.map((meterId) => meterMod(OFPMC.DELETE, { meterId, flags: 0, bands: [] })));
    const drift = source === 'switch' && cached?.ownership === ownKey ? countDrift(cached, flows, groups, meters, own) : undefined;
    // Recording what the switch now has touches every flow after a first sync (31k on a node of a 10k-VM cloud):
    // in slices too.
    await applyPlan(installed, flows, groups, own, pause);
    applyMeterPlan(installed, meters);
    installed.last = await runInTurns(linkDesiredSteps(installed.flows, desired.flows, diff, LINK_BATCH), pause);
    this.installed = installed;
    const t3 = performance.now();

    const stats: SyncStats = {
      added: flows.adds.length,
      modified: flows.modifies.length + flows.replaces.length,
      deleted: flows.deletes.length,
      unchanged: flows.unchanged,
      groupsAdded: groups.adds.length,
      groupsModified: groups.modifies.length,
      groupsDeleted: groups.deletes.length,
      metersAdded: meters.adds.length,
      metersModified: meters.modifies.length,
      metersDeleted: meters.deletes.length,
      flowMods: flowModCount(flows),
      groupMods: groups.adds.length + groups.modifies.length + groups.deletes.length,
      meterMods: meters.adds.length + meters.modifies.length + meters.deletes.length,
      bundles,
      ...(drift !== undefined && { drift }),
      source,
      durationMs: t3 - t0,
      readMs: t1 - t0,
      diffMs,
      applyMs: t3 - t1 - diffMs,
    };
    log.info(stats, 'datapath synced');
    return stats;
  }

  /**
   * Diffs the flows and sends the difference (with the group changes) as one bundle. From a fresh read of the
   * switch, the bundle is opened as soon as the first change is found and filled while the diff goes on, so the
   * switch works while we compare; flows with distinct identities don't depend on each other's order.
   */
  private async diffAndApply(
    installed: InstalledState,
    desired: readonly DesiredFlow[],
    groups: GroupPlan,
    own: Ownership,
    fromCache: boolean,
    opts: SyncOptions,
    pause: Pause,
  ): Promise<{ diff: FlowDiff; bundles: number; diffMs: number }> {
    const pre: Op[] = [
      ...groups.adds.map((group): Op => ({ kind: 'group', command: OFPGC.ADD, group })),
      ...groups.modifies.map((group): Op => ({ kind: 'group', command: OFPGC.MODIFY, group })),
    ];
    const post = groups.deletes.map((groupId): Op => ({ kind: 'group_delete', groupId }));
    let stream: BundleStream<Op> | undefined;
    let diffMs = 0;
    const open = async (): Promise<BundleStream<Op>> => {
      if (!stream) {
        stream = await BundleStream.open<Op>(this.conn, opEncoder(own, this.conn.encoder), opts.bundle);
        for (const op of pre) stream.add(op);
      }
      return stream;
    };
    let committing = false;
    try {
      let diff: FlowDiff;
      if (fromCache) {
        const t = performance.now();
        // A small change diffs in one go; a recompiled pipeline (every object new) in slices, each in a turn.
        diff =
          desired.length > DIFF_BATCH
            ? await diffDesiredInSlices(installed.flows, desired, own, installed.last, pause, DIFF_BATCH)
            : diffDesired(installed.flows, desired, own, installed.last);
        diffMs = performance.now() - t;
        const flows = diff.plan;
        const ops = [...flowOps(flows, 0, 0, 0), ...flows.deletes.map((flow): FlowOp => ({ kind: 'flow_delete', flow }))];
        if (ops.length === 1 && pre.length === 0 && post.length === 0) {
          // One flow mod is atomic by itself: no bundle round trips (OPEN, CLOSE, COMMIT), just a barrier.
          await sendAndConfirmOps(this.conn, ops, own);
          return { diff, bundles: 0, diffMs };
        }
        if (ops.length > 0) await addAll(await open(), ops, pause);
      } else {
        const differ = new FlowDiffer(installed.flows, own);
        const p = differ.plan;
        let sent = [0, 0, 0];
        for (let i = 0; i < desired.length; i += DIFF_BATCH) {
          // Each batch in a turn of its own: the event loop writes what is queued (the switch works on the last
          // batch while we diff this one) and other switches get their turns.
          if (i > 0) await pause();
          const t = performance.now();
          const end = Math.min(desired.length, i + DIFF_BATCH);
          for (let j = i; j < end; j++) differ.consider(desired[j]!, j);
          diffMs += performance.now() - t;
          if (p.modifies.length + p.replaces.length + p.adds.length > sent[0]! + sent[1]! + sent[2]!) {
            await addAll(await open(), flowOps(p, sent[0]!, sent[1]!, sent[2]!), pause);
            sent = [p.modifies.length, p.replaces.length, p.adds.length];
          }
        }
        // Every installed flow no desired one claimed is deleted: 100k of them looked at on a large switch, in turns.
        const finishing = differ.finishSteps(LINK_BATCH);
        let flows: FlowPlan | undefined;
        while (flows === undefined) {
          const t = performance.now();
          const r = finishing.next();
          diffMs += performance.now() - t;
          if (r.done) flows = r.value;
          else await pause();
        }
        diff = { plan: flows, links: differ.links };
        if (flows.deletes.length > 0) await addAll(await open(), flows.deletes.map((flow): Op => ({ kind: 'flow_delete', flow })), pause);
      }
      if (post.length > 0 || (pre.length > 0 && !stream)) await addAll(await open(), post, pause);
      if (stream) {
        committing = true;
        await stream.commit();
      }
      return { diff, bundles: stream ? 1 : 0, diffMs };
    } catch (e) {
      if (stream && !committing) await stream.abort();
      throw e;
    }
  }

  /**
   * Reads the switch's flows (and groups and meters when `desired` has them). The switch takes a while to collect
   * its flow stats: the desired flows are encoded and indexed meanwhile, in turns. Reply parts are only checked as
   * they arrive (a malformed one fails in the connection's read) and compared in turns of their own, a part (at most
   * 64 KiB, a few hundred flows) at a time: libuv reads a socket up to 32 times per poll, and 50 switches replying at
   * once would otherwise hold the event loop for seconds in I/O callbacks the TurnGate never sees. With
   * MAX_QUEUED_PARTS waiting, the socket is not read until they are compared (what is left in the callbacks is
   * framing and a check without keys).
   */
  private async read(opts: SyncOptions, desired: DesiredState, own: Ownership, pause: Pause, reuse?: ReadonlyMap<string, InstalledFlow>): Promise<InstalledState> {
    const timeoutMs = opts.readTimeoutMs ?? 30_000;
    const flows = new Map<string, InstalledFlow>();
    const parts: Uint8Array[] = [];
    let stopped = false;
    let ended = false;
    let wake: (() => void) | undefined;
    let next = 0;
    const onPart = (frame: Uint8Array): void => {
      if (stopped) return;
      checkFlowStatsPart(frame);
      parts.push(frame);
      if (parts.length - next >= MAX_QUEUED_PARTS) this.conn.pauseReading();
      wake?.();
    };
    const reading = Promise.all([
      // Read straight from the reply bytes: nothing is decoded into objects.
      this.conn.multipartRaw(flowStatsRequest, onPart, { timeoutMs }),
      desired.groups ? this.conn.groupDesc() : Promise.resolve(undefined),
      desired.meters ? this.conn.meterConfig() : Promise.resolve(undefined),
    ]);
    const end = (): void => {
      ended = true;
      wake?.();
    };
    reading.then(end, end); // a failure is awaited below
    try {
      const index = await runInTurns(indexDesiredSteps(desired.flows, own, ENCODE_BATCH, reuse), pause);
      for (;;) {
        if (next < parts.length) {
          await pause();
          addFlowStatsPart(parts[next]!, flows, index);
          parts[next++] = EMPTY; // compared: its bytes can go
          if (parts.length - next < MAX_QUEUED_PARTS) this.conn.resumeReading();
        } else if (ended) break;
        else await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      stopped = true;
      this.conn.resumeReading();
    }
    const [, groups, meters] = await reading;
    return {
      flows,
      groups: groups && installedGroupsFromDesc(groups),
      meters: meters && installedMetersFromConfig(meters),
    };
  }
}

/**
 * One Ownership object per cookie space (a few at most): what a flow's install cookie is kept under (installCookie),
 * so it is worked out once per flow object rather than once per flow and sync.
 */
const ownerships = new Map<string, Ownership>();

function ownershipOf(opts: SyncOptions): Ownership {
  const own: Ownership = {
    cookie: opts.cookie?.value ?? 0n,
    cookieMask: opts.cookie?.mask ?? 0n,
    takeOverTables: opts.takeOverTables === 'all' ? 'all' : new Set(opts.takeOverTables ?? []),
  };
  const key = ownershipKey(own);
  const known = ownerships.get(key);
  if (known) return known;
  if (ownerships.size >= 16) ownerships.clear();
  ownerships.set(key, own);
  return own;
}

const flowStatsRequest: Outgoing = {
  type: 'flow_stats_request',
  flags: 0,
  tableId: OFPTT.ALL,
  outPort: OFPP.ANY,
  outGroup: OFPG.ANY,
  cookie: 0n,
  cookieMask: 0n,
  match: [],
};

const emptyGroupPlan: GroupPlan = { adds: [], modifies: [], deletes: [], unchanged: 0 };
const emptyMeterPlan: MeterPlan = { adds: [], modifies: [], deletes: [], unchanged: 0 };

const meterMod = (command: number, m: DesiredMeter): Outgoing => ({ type: 'meter_mod', command, flags: m.flags, meterId: m.meterId, bands: m.bands });

/** Sends messages the switch answers only on error, then a barrier; rejects with the first error naming its message. */
async function sendAndConfirm(conn: OfConnection, msgs: readonly Outgoing[]): Promise<void> {
  if (msgs.length === 0) return;
  const first = conn.allocXids(msgs.length);
  const errors: SwitchError[] = [];
  const unwatch = conn.watchErrors(first, msgs.length, (m) => {
    const msg = msgs[(m.xid - first) >>> 0]!;
    errors.push(conn.switchError(m, requestInfo({ ...msg, xid: m.xid } as Message, m.xid)));
  });
  try {
    msgs.forEach((m, i) => conn.send({ ...m, xid: (first + i) >>> 0 } as Outgoing));
    await conn.barrier();
  } finally {
    unwatch();
  }
  if (errors.length > 0) throw errors[0]!;
}

function applyMeterPlan(installed: InstalledState, meters: MeterPlan): void {
  if (!installed.meters) return;
  for (const id of meters.deletes) installed.meters.delete(id);
  for (const m of [...meters.adds, ...meters.modifies]) installed.meters.set(m.meterId, meterFingerprint(m));
}

/** One change a sync sends (exported for tests). */
export type SyncOp =
  | { readonly kind: 'flow'; readonly command: number; readonly flow: DesiredFlow }
  | { readonly kind: 'flow_delete'; readonly flow: InstalledFlow }
  | { readonly kind: 'group'; readonly command: number; readonly group: DesiredGroup }
  | { readonly kind: 'group_delete'; readonly groupId: number };
type Op = SyncOp;

/**
 * Batch sizes between pauses: each about a millisecond of one core or less on this project's reference machine, so
 * that the TurnGate's per-turn budget (2-10 ms) is what bounds a turn, not one batch. Diffed flows are streamed to
 * the bundle in batches of DIFF_BATCH (about 50 KB of flow mods for seed-shape flows).
 */
const ENCODE_BATCH = 512;
/**
 * Reply parts read but not compared yet at which the connection stops reading until the comparison catches up: the
 * socket callbacks of one poll phase then read a part or two per switch, and the parts held are bounded too.
 */
const MAX_QUEUED_PARTS = 2;
const DIFF_BATCH = 512;
const ADD_BATCH = 512;
const APPLY_BATCH = 2048;
const LINK_BATCH = 4096;

/** Modify, replace and add ops for the plan's entries from the given offsets on. */
function flowOps(p: FlowPlan, fromModify: number, fromReplace: number, fromAdd: number): FlowOp[] {
  const ops: FlowOp[] = [];
  for (let i = fromModify; i < p.modifies.length; i++) ops.push({ kind: 'flow', command: OFPFC.MODIFY_STRICT, flow: p.modifies[i]! });
  for (let i = fromReplace; i < p.replaces.length; i++) ops.push({ kind: 'flow', command: OFPFC.ADD, flow: p.replaces[i]! });
  for (let i = fromAdd; i < p.adds.length; i++) ops.push({ kind: 'flow', command: OFPFC.ADD, flow: p.adds[i]! });
  return ops;
}

/** Adds `ops` to the bundle: `pause` between batches (encoding 31k flow mods is no single turn's work). */
async function addAll(stream: BundleStream<Op>, ops: readonly Op[], pause: Pause): Promise<void> {
  for (let i = 0; i < ops.length; i++) {
    stream.add(ops[i]!);
    if (i % ADD_BATCH === ADD_BATCH - 1) {
      await stream.pace();
      if (i < ops.length - 1) await pause();
    }
  }
  await stream.pace();
}

/** Sends flow ops bare (no bundle), then a barrier; rejects with the first error naming its flow mod. */
async function sendAndConfirmOps(conn: OfConnection, ops: readonly FlowOp[], own: Ownership): Promise<void> {
  const first = conn.allocXids(ops.length);
  const errors: SwitchError[] = [];
  const unwatch = conn.watchErrors(first, ops.length, (m) => errors.push(conn.switchError(m, requestInfo(toMessage(ops[(m.xid - first) >>> 0]!, m.xid, own), m.xid))));
  try {
    const writer = new FlowModWriter();
    const buf = Buffer.allocUnsafe(ops.length * OFP_MAX_MESSAGE_LEN);
    let off = 0;
    ops.forEach((op, i) => (off = writeFlowOp(writer, op, (first + i) >>> 0, own, buf, off)));
    conn.write(buf.subarray(0, off));
    await conn.barrier();
  } finally {
    unwatch();
  }
  if (errors.length > 0) throw errors[0]!;
}

type FlowOp = Extract<Op, { readonly kind: 'flow' | 'flow_delete' }>;

/**
 * The fixed fields of the FLOW_MOD a flow op stands for: the one place they are chosen, for bytes and for messages
 * alike. Two object literals of one shape, not spreads: in Node 20 a spread followed by added properties gives each
 * result a hidden class of its own, and the FLOW_MOD writer's reads of them would turn megamorphic.
 */
function flowModHead(op: FlowOp, xid: number, own: Ownership): FlowModHead {
  const f = op.flow;
  if (op.kind === 'flow_delete') {
    return { xid, cookie: 0n, cookieMask: 0n, tableId: f.tableId, command: OFPFC.DELETE_STRICT, idleTimeout: 0, hardTimeout: 0, priority: f.priority, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0 };
  }
  const d = op.flow;
  return {
    xid,
    cookie: installCookie(d, own),
    cookieMask: 0n,
    tableId: d.tableId,
    command: op.command,
    idleTimeout: d.idleTimeout ?? 0,
    hardTimeout: d.hardTimeout ?? 0,
    priority: d.priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: d.flags ?? 0,
  };
}

/**
 * Writes a flow op as a FLOW_MOD at `off` (in a BUNDLE_ADD when `bundle` is given) and returns the end: from the
 * flow's cached encoding, so nothing is encoded twice, or for a delete from the installed flow's key.
 */
function writeFlowOp(writer: FlowModWriter, op: FlowOp, xid: number, own: Ownership, buf: Buffer, off: number, bundle?: BundleTarget): number {
  const head = flowModHead(op, xid, own);
  return op.kind === 'flow' ? writer.write(buf, off, head, encodedFlow(op.flow).body, bundle) : writer.writeForKey(buf, off, head, op.flow.key, bundle);
}

/** Flow ops are written straight from their cached bytes; group ops go through the codec. */
export function opEncoder(own: Ownership, encoder: MessageEncoder = new MessageEncoder()): BundleOpEncoder<Op> {
  const writer = new FlowModWriter();
  return {
    encode(op, xid, bundleId, bundleFlags, buf, off) {
      if (op.kind === 'group' || op.kind === 'group_delete') {
        return off + encoder.encodeInto({ type: 'bundle_add', xid, bundleId, bundleFlags, message: toMessage(op, xid, own), properties: EMPTY }, buf, off);
      }
      return writeFlowOp(writer, op, xid, own, buf, off, { bundleId, bundleFlags });
    },
    describe: (op, xid) => toMessage(op, xid, own),
  };
}

const EMPTY = new Uint8Array(0);

/** The message an op stands for (group ops are encoded from it; flow ops only use it to be named in errors). */
function toMessage(op: Op, xid: number, own: Ownership): Message {
  switch (op.kind) {
    case 'flow':
      return { type: 'flow_mod', ...flowModHead(op, xid, own), match: op.flow.match, instructions: op.flow.instructions };
    case 'flow_delete':
      return { type: 'flow_mod', ...flowModHead(op, xid, own), match: flowIdentityOfKey(op.flow.key).match, instructions: [] };
    case 'group':
      return { type: 'group_mod', xid, command: op.command, groupType: op.group.groupType, groupId: op.group.groupId, buckets: op.group.buckets };
    case 'group_delete':
      return { type: 'group_mod', xid, command: OFPGC.DELETE, groupType: 0, groupId: op.groupId, buckets: [] };
  }
}

/** What the switch has after a committed plan (the cache for `source: 'cache'`). */
async function applyPlan(installed: InstalledState, flows: FlowPlan, groups: GroupPlan, own: Ownership, pause: Pause): Promise<void> {
  let n = 0;
  for (const f of flows.deletes) installed.flows.delete(f.key);
  for (const list of [flows.modifies, flows.replaces, flows.adds]) {
    for (const f of list) {
      if (++n % APPLY_BATCH === 0) await pause();
      const e = encodedFlow(f);
      const i = new InstalledFlow(e.key, f.tableId, f.priority, installCookie(f, own, e), e.attrs, e.fp);
      i.source = f;
      installed.flows.set(e.key, i);
    }
  }
  if (!installed.groups) return;
  for (const id of groups.deletes) installed.groups.delete(id);
  for (const g of [...groups.adds, ...groups.modifies]) installed.groups.set(g.groupId, { groupId: g.groupId, fp: groupFingerprint(g) });
}
