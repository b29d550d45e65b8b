// The pure half of sync: what to delete, modify, replace and add to turn the installed state into the desired
// one. No I/O here; sync.ts reads the switch and sends the plan.
import { checkFlowStatsFrame, FlowKeyIndex, forEachFlowStatsEntry, type Bucket, type FlowStats, type GroupDesc, type MeterBand, type MeterConfig } from '../openflow/index.js';
import { encodedFlow, groupFingerprint, meterFingerprint, rawFlowAttributes, type EncodedFlow, type FlowBody, type FlowIdentity } from './flow-key.js';

/** A flow we want on the switch: a FlowMod (e.g. from parseFlow) fits. */
export interface DesiredFlow extends FlowIdentity, FlowBody {
  /**
   * The bits under the sync's cookie mask are set to the sync's cookie value (so they must be 0 or already that
   * value); the bits outside the mask are the flow's own (e.g. a pipeline stage tag). Default 0.
   */
  readonly cookie?: bigint;
}

export interface DesiredGroup {
  readonly groupId: number;
  readonly groupType: number;
  readonly buckets: readonly Bucket[];
}

/**
 * A flow as the switch has it (or as our last commit left it), reduced to what the diff compares: strings and
 * numbers only (no decoded match or instructions), so 100k of them stay cheap to keep and to collect.
 */
export class InstalledFlow {
  /** The desired flow object known to be installed exactly so (lets unchanged objects skip all comparison). */
  source: DesiredFlow | undefined = undefined;
  /** Diff generation that last saw this flow desired (internal bookkeeping). */
  seen = 0;
  /** Index of the desired flow linked to this one in the last sync's desired list (see LastSync); -1 if none. */
  pos = -1;

  constructor(
    /** Table, priority and canonical match (the codec's canonicalFlowKey). */
    readonly key: string,
    readonly tableId: number,
    readonly priority: number,
    readonly cookie: bigint,
    /** flowAttributes: timeouts and state flags. */
    readonly attrs: number,
    /** Canonical instruction bytes. */
    public fp: string,
  ) {}
}

export interface DesiredMeter {
  readonly meterId: number;
  /** OFPMF_* (KBPS or PKTPS, BURST, STATS). */
  readonly flags: number;
  readonly bands: readonly MeterBand[];
}

export interface InstalledGroup {
  readonly groupId: number;
  readonly fp: string;
}

export interface InstalledState {
  readonly flows: Map<string, InstalledFlow>;
  /** The ownership the flows' `source` links were established under (a cache is only reused with the same). */
  ownership?: string;
  /** Set after a successful sync: enables the positional fast path of diffFlows. */
  last?: LastSync;
  /** Undefined when groups were never read. */
  groups: Map<number, InstalledGroup> | undefined;
  /** Meter fingerprints by id; undefined when meters were never read. */
  meters: Map<number, string> | undefined;
}

/** Which installed flows are ours: cookie & mask === value; foreign ones survive unless their table is taken over. */
export interface Ownership {
  readonly cookie: bigint;
  readonly cookieMask: bigint;
  readonly takeOverTables: ReadonlySet<number> | 'all';
}

export interface FlowPlan {
  readonly deletes: InstalledFlow[];
  /** Same cookie, timeouts and flags; other instructions: MODIFY_STRICT (keeps counters). */
  readonly modifies: DesiredFlow[];
  /** Cookie, timeouts or flags differ: ADD over the existing flow, which OpenFlow 1.3 replaces keeping counters. */
  readonly replaces: DesiredFlow[];
  readonly adds: DesiredFlow[];
  readonly unchanged: number;
}

export interface MeterPlan {
  readonly adds: DesiredMeter[];
  readonly modifies: DesiredMeter[];
  readonly deletes: number[];
  readonly unchanged: number;
}

export interface GroupPlan {
  readonly adds: DesiredGroup[];
  readonly modifies: DesiredGroup[];
  readonly deletes: number[];
  readonly unchanged: number;
}

/** The flow-mods a plan sends (deletes, modifies, replaces and adds). */
export const flowModCount = (p: FlowPlan): number => p.deletes.length + p.modifies.length + p.replaces.length + p.adds.length;

/** How a switch reports `f` in a flow-stats reply once it is installed under `own` (counters and durations 0). */
export const asInstalledStats = (f: DesiredFlow, own: Ownership): FlowStats => ({
  tableId: f.tableId,
  durationSec: 0,
  durationNsec: 0,
  priority: f.priority,
  idleTimeout: f.idleTimeout ?? 0,
  hardTimeout: f.hardTimeout ?? 0,
  flags: f.flags ?? 0,
  cookie: cookieOf(f, own),
  packetCount: 0n,
  byteCount: 0n,
  match: f.match,
  instructions: f.instructions,
});

const ZERO = 0n;

/** Installed flows from decoded flow stats (the sync itself reads raw replies: see addFlowStatsPart). */
export function installedFromStats(stats: readonly FlowStats[]): Map<string, InstalledFlow> {
  const flows = new Map<string, InstalledFlow>();
  for (const s of stats) {
    const e = encodedFlow(s);
    flows.set(e.key, new InstalledFlow(e.key, s.tableId, s.priority, s.cookie, e.attrs, e.fp));
  }
  return flows;
}

/**
 * The desired flows of a sync from the switch, by key: each flow-stats entry is looked up and compared on its bytes
 * (addFlowStatsPart), so a flow the switch has as desired costs no string of its own.
 */
export interface DesiredIndex {
  readonly flows: readonly DesiredFlow[];
  readonly keys: FlowKeyIndex;
  readonly own: Ownership;
  /**
   * The connection's cache of its last commit under `own`, when there is one: an entry found exactly as that cache
   * has it is that very InstalledFlow again (a drift check of a switch that is right makes no object per flow).
   */
  readonly reuse?: ReadonlyMap<string, InstalledFlow>;
}

/**
 * Encodes (cached) and indexes `flows`, yielding after every `slice` of them. Throws on two flows with one identity
 * and on a cookie outside our cookie space, before anything is sent.
 */
export function* indexDesiredSteps(flows: readonly DesiredFlow[], own: Ownership, slice: number, reuse?: ReadonlyMap<string, InstalledFlow>): Generator<void, DesiredIndex, void> {
  const keys = new FlowKeyIndex(flows.length);
  for (let i = 0; i < flows.length; i++) {
    if (i > 0 && i % slice === 0) yield;
    const f = flows[i]!;
    const e = encodedFlow(f);
    installCookie(f, own, e);
    if (keys.add(e.key, i) >= 0) throw duplicate(f);
  }
  return reuse ? { flows, keys, own, reuse } : { flows, keys, own };
}

/**
 * Adds the flows of one raw OFPMP_FLOW reply frame to `flows`, straight from its bytes: nothing is decoded into
 * objects. With `desired`, an entry equal to a desired flow (key, instructions, cookie, timeouts and flags compared
 * on the bytes) becomes an InstalledFlow sharing that flow's strings and linked to it (`source`), so the diff finds
 * it unchanged at once; only entries that differ get strings of their own. Malformed input throws a CodecError.
 */
export function addFlowStatsPart(frame: Uint8Array, flows: Map<string, InstalledFlow>, desired?: DesiredIndex): void {
  // Entries of a frame mostly share a cookie: one bigint for a run of them.
  let hi = 0;
  let lo = 0;
  let last = ZERO;
  const cookieOfWords = (h: number, l: number): bigint => {
    if ((h | l) === 0) return ZERO;
    if (h !== hi || l !== lo) {
      hi = h;
      lo = l;
      last = (BigInt(h) << 32n) | BigInt(l);
    }
    return last;
  };
  forEachFlowStatsEntry(frame, desired?.keys, (s) => {
    const attrs = rawFlowAttributes(s.idleTimeout, s.hardTimeout, s.flags);
    if (desired !== undefined && s.found >= 0) {
      const f = desired.flows[s.found]!;
      const e = encodedFlow(f);
      const cookie = installCookie(f, desired.own, e);
      const sameCookie = e.cookieHi === s.cookieHi && e.cookieLo === s.cookieLo;
      const sameFp = s.hasFingerprint(e.fp);
      if (sameCookie && sameFp && attrs === e.attrs && desired.reuse !== undefined) {
        const had = desired.reuse.get(e.key);
        if (had !== undefined && had.source === f && had.cookie === cookie && had.attrs === attrs && had.fp === e.fp) {
          flows.set(e.key, had);
          return;
        }
      }
      const i = new InstalledFlow(e.key, s.tableId, s.priority, sameCookie ? cookie : cookieOfWords(s.cookieHi, s.cookieLo), attrs, sameFp ? e.fp : s.fingerprint());
      if (sameCookie && sameFp && attrs === e.attrs) i.source = f;
      flows.set(e.key, i);
      return;
    }
    const key = s.key();
    flows.set(key, new InstalledFlow(key, s.tableId, s.priority, cookieOfWords(s.cookieHi, s.cookieLo), attrs, s.fingerprint()));
  });
}

/** Checks one raw OFPMP_FLOW reply frame as addFlowStatsPart would, keeping nothing: a CodecError if malformed. */
export function checkFlowStatsPart(frame: Uint8Array): void {
  checkFlowStatsFrame(frame);
}

/** The cookie a desired flow is installed with: ours under the mask, the flow's own bits elsewhere. */
export function cookieOf(f: DesiredFlow, own: Ownership): bigint {
  const c = f.cookie ?? 0n;
  return c === 0n ? own.cookie : (c & ~own.cookieMask & 0xffffffffffffffffn) | own.cookie;
}

/**
 * cookieOf, kept on the flow's encoding for the ownership last asked (the sync asks with one Ownership object per
 * cookie space, so this is worked out once per flow object); throws for a flow whose cookie claims bits of another
 * cookie space.
 */
export function installCookie(f: DesiredFlow, own: Ownership, e: EncodedFlow = encodedFlow(f)): bigint {
  if (e.cookieOwn === own) return e.cookie;
  const claimed = (f.cookie ?? 0n) & own.cookieMask;
  if (claimed !== 0n && claimed !== own.cookie) {
    throw new Error(`desired flow table=${f.tableId},priority=${f.priority} has cookie 0x${(f.cookie ?? 0n).toString(16)} outside our cookie space 0x${own.cookie.toString(16)}/0x${own.cookieMask.toString(16)}`);
  }
  const c = cookieOf(f, own);
  e.cookie = c;
  e.cookieHi = Number(c >> 32n);
  e.cookieLo = Number(c & 0xffffffffn);
  e.cookieOwn = own;
  return c;
}

/** Identifies an ownership, so a cache built under another one is not trusted. */
export const ownershipKey = (own: Ownership): string =>
  `${own.cookie}/${own.cookieMask}/${own.takeOverTables === 'all' ? 'all' : [...own.takeOverTables].sort((a, b) => a - b).join(',')}`;

let generation = 0;

/**
 * The desired list of the last successful sync (a snapshot) and, at the same index, the installed flow each
 * element became. With it, a desired list that reuses most objects in place (an incremental pipeline) diffs in
 * one pointer comparison per flow plus a map lookup per changed one.
 */
export interface LastSync {
  /** Our own copy (updated in place by the next incremental sync of the same length). */
  readonly desired: DesiredFlow[];
  readonly links: InstalledFlow[];
}

/** A plan plus what linking the desired list to the installed flows after the commit needs. */
export interface FlowDiff {
  readonly plan: FlowPlan;
  /** Installed flow of each desired position found unchanged (the rest are resolved after the commit). */
  readonly links: (InstalledFlow | undefined)[];
  /** Positions compared against `last` (undefined: every position was). */
  readonly changed?: readonly number[];
  readonly last?: LastSync;
}

/**
 * Diffs desired flows one at a time (so a caller can send what it has found while it looks at the rest), then
 * `finish()` adds the deletes.
 */
export class FlowDiffer {
  readonly plan = { deletes: [] as InstalledFlow[], modifies: [] as DesiredFlow[], replaces: [] as DesiredFlow[], adds: [] as DesiredFlow[], unchanged: 0 };
  readonly gen = ++generation;
  readonly links: (InstalledFlow | undefined)[] = [];
  private readonly addKeys = new Set<string>();

  constructor(
    private readonly installed: Map<string, InstalledFlow>,
    private readonly own: Ownership,
    /** Set when only positions that differ from `last` are considered: the others keep their links unmarked. */
    private readonly incremental?: { readonly desired: readonly DesiredFlow[]; readonly last: LastSync },
  ) {}

  owns(f: InstalledFlow): boolean {
    const own = this.own;
    return (f.cookie & own.cookieMask) === own.cookie || own.takeOverTables === 'all' || own.takeOverTables.has(f.tableId);
  }

  /** True when `f` is linked to a position of the last sync whose desired flow is still there, unchanged. */
  private heldByUnchanged(f: InstalledFlow): boolean {
    const inc = this.incremental;
    if (inc === undefined) return false;
    const j = f.pos;
    return j >= 0 && j < inc.desired.length && j < inc.last.desired.length && inc.desired[j] === inc.last.desired[j] && inc.last.links[j] === f;
  }

  /** Considers desired flow `f` at position `i` of the desired list. */
  consider(f: DesiredFlow, i: number): void {
    const { gen, plan, own } = this;
    const e = encodedFlow(f);
    const have = this.installed.get(e.key);
    if (have !== undefined && have.source === f && have.seen !== gen && !this.heldByUnchanged(have)) {
      // The very object our last commit installed (or found installed) under this ownership: nothing to compare.
      have.seen = gen;
      plan.unchanged++;
      this.links[i] = have;
      return;
    }
    const cookie = installCookie(f, own, e);
    if (have === undefined) {
      if (this.addKeys.has(e.key)) throw duplicate(f);
      this.addKeys.add(e.key);
      plan.adds.push(f);
      return;
    }
    if (have.seen === gen || this.heldByUnchanged(have)) throw duplicate(f);
    have.seen = gen;
    if (have.cookie !== cookie || have.attrs !== e.attrs) plan.replaces.push(f);
    else if (have.fp !== e.fp) plan.modifies.push(f);
    else {
      have.source = f;
      have.fp = e.fp; // share the desired flow's string; the one read from the switch can go
      plan.unchanged++;
      this.links[i] = have;
    }
  }

  /** Deletes `f` (an installed flow a position of the last sync held) unless a desired flow claimed it. */
  dropUnclaimed(f: InstalledFlow): void {
    if (f.seen !== this.gen && this.owns(f)) {
      f.seen = this.gen;
      this.plan.deletes.push(f);
    }
  }

  /** Every owned installed flow no desired flow claimed is deleted. */
  finish(): FlowPlan {
    const steps = this.finishSteps(Infinity);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /** `finish` yielding after every `slice` installed flows looked at (100k of them on a large switch). */
  *finishSteps(slice: number): Generator<void, FlowPlan, void> {
    let n = 0;
    for (const f of this.installed.values()) {
      if (++n % slice === 0) yield;
      if (f.seen !== this.gen && this.owns(f)) this.plan.deletes.push(f);
    }
    return this.plan;
  }
}

export function diffFlows(installed: Map<string, InstalledFlow>, desired: readonly DesiredFlow[], own: Ownership, last?: LastSync): FlowPlan {
  return diffDesired(installed, desired, own, last).plan;
}

/**
 * The plan and links for `desired`. With `last` (the cache of our last commit), only positions whose object
 * differs from the last desired list are looked at: an unchanged position costs one pointer comparison, a changed
 * one a map lookup (and, for a new object, its encoding).
 */
export function diffDesired(installed: Map<string, InstalledFlow>, desired: readonly DesiredFlow[], own: Ownership, last?: LastSync): FlowDiff {
  if (!last) {
    const d = new FlowDiffer(installed, own);
    for (let i = 0; i < desired.length; i++) d.consider(desired[i]!, i);
    return { plan: d.finish(), links: d.links };
  }
  // After a successful sync every installed flow is either linked to a position of `last.desired` or foreign and
  // kept, so only the links of positions that changed can need deleting.
  const d = new FlowDiffer(installed, own, { desired, last });
  const old = last.desired;
  const common = Math.min(desired.length, old.length);
  const changed = changedPositions(desired, old, common);
  d.plan.unchanged += common - changed.length;
  for (let i = common; i < desired.length; i++) changed.push(i);
  for (const i of changed) d.consider(desired[i]!, i);
  for (const i of changed) if (i < old.length) d.dropUnclaimed(last.links[i]!);
  for (let i = common; i < old.length; i++) d.dropUnclaimed(last.links[i]!);
  return { plan: d.plan, links: d.links, changed, last };
}

/**
 * `diffDesired` with a `pause()` between slices of `slice` flows considered: after a recompile every position holds
 * a new object, and 31k of them (a node of a 10k-VM cloud) take longer to encode and compare than a turn may last.
 */
export async function diffDesiredInSlices(
  installed: Map<string, InstalledFlow>,
  desired: readonly DesiredFlow[],
  own: Ownership,
  last: LastSync | undefined,
  pause: () => Promise<void>,
  slice: number,
): Promise<FlowDiff> {
  const d = new FlowDiffer(installed, own, last && { desired, last });
  let changed: number[] | undefined;
  let positions: readonly number[] | undefined;
  if (last) {
    const old = last.desired;
    const common = Math.min(desired.length, old.length);
    changed = changedPositions(desired, old, common);
    d.plan.unchanged += common - changed.length;
    for (let i = common; i < desired.length; i++) changed.push(i);
    positions = changed;
  }
  const n = positions ? positions.length : desired.length;
  for (let k = 0; k < n; k += slice) {
    if (k > 0) await pause();
    const end = Math.min(n, k + slice);
    for (let j = k; j < end; j++) {
      const i = positions ? positions[j]! : j;
      d.consider(desired[i]!, i);
    }
  }
  if (!last || !changed) return { plan: d.finish(), links: d.links };
  for (const i of changed) if (i < last.desired.length) d.dropUnclaimed(last.links[i]!);
  for (let i = Math.min(desired.length, last.desired.length); i < last.desired.length; i++) d.dropUnclaimed(last.links[i]!);
  return { plan: d.plan, links: d.links, changed, last };
}

/** Positions below `n` where the two lists hold different objects (a tight loop of its own, for the JIT). */
function changedPositions(a: readonly DesiredFlow[], b: readonly DesiredFlow[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Links each desired flow to its installed entry, once the plan is applied to `installed`. */
export function linkDesired(installed: Map<string, InstalledFlow>, desired: readonly DesiredFlow[], diff: FlowDiff): LastSync {
  const steps = linkDesiredSteps(installed, desired, diff, Infinity);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** `linkDesired` yielding after every `slice` flows linked (the sync awaits its pause there). */
export function* linkDesiredSteps(installed: Map<string, InstalledFlow>, desired: readonly DesiredFlow[], diff: FlowDiff, slice: number): Generator<void, LastSync, void> {
  const n = desired.length;
  const resolve = (i: number): InstalledFlow => {
    const link = diff.links[i] ?? installed.get(encodedFlow(desired[i]!).key);
    if (!link) throw new Error('internal: desired flow without an installed entry after sync');
    link.pos = i;
    return link;
  };
  const last = diff.last;
  const links = new Array<InstalledFlow>(n);
  let done = 0;
  if (last && diff.changed) {
    const old = last.desired;
    if (old.length === n) {
      // Same length: update our copies in place, so a one-flow change allocates nothing in proportion to n.
      for (const i of diff.changed) {
        if (++done % slice === 0) yield;
        last.links[i] = resolve(i);
        old[i] = desired[i]!;
      }
      return last;
    }
    for (let i = 0, common = Math.min(n, old.length); i < common; i++) if (desired[i] === old[i]) links[i] = last.links[i]!;
    for (const i of diff.changed) {
      if (++done % slice === 0) yield;
      links[i] = resolve(i);
    }
  } else {
    for (let i = 0; i < n; i++) {
      if (++done % slice === 0) yield;
      links[i] = resolve(i);
    }
  }
  // A snapshot: a caller that later edits its array in place must not make us believe nothing changed.
  return { desired: desired.slice(), links };
}

function duplicate(f: DesiredFlow): Error {
  return new Error(`desired state has two flows with table=${f.tableId}, priority=${f.priority} and the same match`);
}

export function installedGroupsFromDesc(groups: readonly GroupDesc[]): Map<number, InstalledGroup> {
  return new Map(groups.map((g) => [g.groupId, { groupId: g.groupId, fp: groupFingerprint(g) }]));
}

export function diffGroups(installed: Map<number, InstalledGroup>, desired: readonly DesiredGroup[], owns: (groupId: number) => boolean): GroupPlan {
  const plan = { adds: [] as DesiredGroup[], modifies: [] as DesiredGroup[], deletes: [] as number[], unchanged: 0 };
  const wanted = new Set<number>();
  for (const g of desired) {
    if (wanted.has(g.groupId)) throw new Error(`desired state has group ${g.groupId} twice`);
    wanted.add(g.groupId);
    const have = installed.get(g.groupId);
    if (!have) plan.adds.push(g);
    else if (have.fp !== groupFingerprint(g)) plan.modifies.push(g);
    else plan.unchanged++;
  }
  for (const id of installed.keys()) if (!wanted.has(id) && owns(id)) plan.deletes.push(id);
  return plan;
}

export const installedMetersFromConfig = (meters: readonly MeterConfig[]): Map<number, string> =>
  new Map(meters.map((m) => [m.meterId, meterFingerprint(m)]));

export function diffMeters(installed: Map<number, string>, desired: readonly DesiredMeter[], owns: (meterId: number) => boolean): MeterPlan {
  const plan = { adds: [] as DesiredMeter[], modifies: [] as DesiredMeter[], deletes: [] as number[], unchanged: 0 };
  const wanted = new Set<number>();
  for (const m of desired) {
    if (wanted.has(m.meterId)) throw new Error(`desired state has meter ${m.meterId} twice`);
    wanted.add(m.meterId);
    const have = installed.get(m.meterId);
    if (have === undefined) plan.adds.push(m);
    else if (have !== meterFingerprint(m)) plan.modifies.push(m);
    else plan.unchanged++;
  }
  for (const id of installed.keys()) if (!wanted.has(id) && owns(id)) plan.deletes.push(id);
  return plan;
}
