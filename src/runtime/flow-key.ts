// What reconciliation compares, for desired flows: each flow object is encoded once by the codec (its key,
// instruction fingerprint and FLOW_MOD body, see openflow/flow-identity.ts) and the result cached on the object;
// plus the comparable forms of timeouts and flags, groups and meters.
import { Buffer } from 'node:buffer';
import { encodeMessage, FlowBodyEncoder, OFPFF, OFPG, OFPGT, OFPMF, OFPP, type Bucket, type FlowIdentity, type Instruction, type MeterBand } from '../openflow/index.js';

export type { FlowIdentity } from '../openflow/index.js';

/** The parts of a flow a sync installs besides its identity. */
export interface FlowBody {
  readonly instructions: readonly Instruction[];
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
  readonly flags?: number;
}

/** Flags the switch keeps with a flow (others, such as CHECK_OVERLAP, only steer the flow mod). */
const STATE_FLAGS = OFPFF.SEND_FLOW_REM | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Timeouts and the flags the switch keeps, as one number: a difference here needs the flow replaced, not just modified. */
export function flowAttributes(f: FlowBody): number {
  return (f.idleTimeout ?? 0) * 0x1_0000_0000 + (f.hardTimeout ?? 0) * 0x1_0000 + ((f.flags ?? 0) & STATE_FLAGS);
}

/** flowAttributes from the raw fields of a flow-stats entry. */
export const rawFlowAttributes = (idle: number, hard: number, flags: number): number => idle * 0x1_0000_0000 + hard * 0x1_0000 + (flags & STATE_FLAGS);

/**
 * A desired flow encoded once: the key and fingerprint to compare (canonicalFlowKey, canonicalInstructions), its
 * attributes, and the FLOW_MOD body to send (the padded ofp_match, then the instructions, as latin1).
 */
export interface EncodedFlow {
  readonly key: string;
  readonly attrs: number;
  readonly fp: string;
  readonly body: string;
  /**
   * The cookie the flow is installed with under `cookieOwn` (diff.ts `installCookie` keeps it here: one bigint per
   * flow and ownership rather than several per flow and sync), and its high and low 32 bits (unsigned).
   */
  cookieOwn: object | undefined;
  cookie: bigint;
  cookieHi: number;
  cookieLo: number;
}

// The pipeline shares immutable flow objects between syncs (and datapaths): each is encoded only once. The
// encoding rides on the object itself under a private, non-enumerable symbol (invisible to spreads, JSON, keys and
// equality checks). A WeakMap was measured first: with 100k+ live entries its ephemeron table rehashes cost up to
// 0.3 s on the first insertion after a full GC, which is exactly when one flow changes. Frozen objects fall back to it.
const ENCODED = Symbol('minicloud.encodedFlow');
const frozenCache = new WeakMap<object, EncodedFlow>();

type Carrier = { [ENCODED]?: EncodedFlow };

/** The encoding of a desired flow (cached by object identity: desired flows must not be mutated). */
export function encodedFlow(f: FlowIdentity & FlowBody): EncodedFlow {
  const own = (f as Carrier)[ENCODED];
  if (own !== undefined && Object.prototype.hasOwnProperty.call(f, ENCODED)) return own;
  if (!Object.isExtensible(f)) {
    let e = frozenCache.get(f);
    if (e === undefined) frozenCache.set(f, (e = encodeFlow(f)));
    return e;
  }
  const e = encodeFlow(f);
  Object.defineProperty(f, ENCODED, { value: e, enumerable: false, writable: false, configurable: false });
  return e;
}

/** The cache's encoder: flows are encoded one at a time, synchronously. */
const bodies = new FlowBodyEncoder();

function encodeFlow(f: FlowIdentity & FlowBody): EncodedFlow {
  const e = bodies.encode(f);
  return { key: e.key, attrs: flowAttributes(f), fp: e.fingerprint, body: e.body, cookieOwn: undefined, cookie: 0n, cookieHi: 0, cookieLo: 0 };
}

/** A group's fingerprint: type and buckets, ignoring what OVS does not keep (weights outside select groups, watches outside fast-failover ones). */
export function groupFingerprint(g: { readonly groupType: number; readonly buckets: readonly Bucket[] }): string {
  const buckets = g.buckets.map((b) => ({
    weight: g.groupType === OFPGT.SELECT ? b.weight : 0,
    watchPort: g.groupType === OFPGT.FF ? b.watchPort : OFPP.ANY,
    watchGroup: g.groupType === OFPGT.FF ? b.watchGroup : OFPG.ANY,
    actions: b.actions,
  }));
  return latin1(encodeMessage({ type: 'group_mod', xid: 0, command: 0, groupType: g.groupType, groupId: 0, buckets }));
}

/** A meter's fingerprint: flags and bands; burst sizes count only with OFPMF_BURST (OVS reports rate there otherwise). */
export function meterFingerprint(m: { readonly flags: number; readonly bands: readonly MeterBand[] }): string {
  const bands = m.flags & OFPMF.BURST ? m.bands : m.bands.map((b) => ({ ...b, burstSize: 0 }));
  return latin1(encodeMessage({ type: 'meter_mod', xid: 0, command: 0, flags: m.flags, meterId: 0, bands }));
}
