// Structure-aware generators for the differential fuzzer: fast-check arbitraries for OF1.3 messages (every type the
// codec models), their matches, instructions and actions (standard, Nicira, ONF), encoded with our own encoder, and
// byte-level corruptions of those encodings (bad lengths, unknown types/commands/flags, bad values). Field values are
// drawn wide on purpose: ports, commands, flags and band types outside what the spec names, masks without
// prerequisites, so that OVS's validation is exercised as well as its printing.
import fc from 'fast-check';
import { fieldRefFor } from '../../../src/openflow/text/action-text-util.js';
import { NX_VENDOR_ID, ONF_EXPERIMENTER_ID } from '../../../src/openflow/consts.js';
import { encodeMessage } from '../../../src/openflow/message.js';
import { FIELDS, type FieldInfo } from '../../../src/openflow/oxm-fields.js';
import { NOT_YET_AGREEING } from './not-yet-agreeing.js';
import type { Action, Bucket, FieldRef, Instruction, Match, MeterBand, Message, MessageType, OxmField, Port } from '../../../src/openflow/types.js';

/** One generated case: the bytes both decoders see, what it was made from, and how it was corrupted (if at all). */
export interface Case {
  /** The message type it was generated as (the key agreement is counted by). */
  readonly kind: MessageType;
  readonly bytes: Uint8Array;
  readonly corruption?: string;
}

// ---- scalars ------------------------------------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
/** Mostly the values that mean something, sometimes anything. */
const oneOfOr = <T>(known: readonly T[], any: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: any });

const PORTS = [1, 2, 3, 10, 0xff00, 0xffffff00, 0xfffffff8, 0xfffffff9, 0xfffffffa, 0xfffffffb, 0xfffffffc, 0xfffffffd, 0xfffffffe, 0xffffffff, 0];
const port = oneOfOr(PORTS, u32);
const tableId = oneOfOr([0, 1, 10, 254, 255], u8);
const xid = u32;
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const text = (max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_ .'.split('')), maxLength: max });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
const nsec = oneOfOr([0, 1, 500_000_000, 999_999_999, 123_000], u32);

// ---- fields ---------------------------------------------------------------------------------------------------------

const allFields = FIELDS.filter((f) => f.length > 0 && f.length <= 16);
const fieldArb = fc.constantFrom(...allFields);

function valueFor(info: FieldInfo, raw: Uint8Array): Uint8Array {
  // Keep the value within nBits most of the time: OVS rejects extra bits, which the corruptions test anyway.
  const v = raw.slice(0, info.length);
  const extra = info.length * 8 - info.nBits;
  if (extra > 0 && extra < 8) v[0]! &= 0xff >> extra;
  else if (extra >= 8) for (let i = 0; i < Math.floor(extra / 8); i++) v[i] = 0;
  return v;
}

const fieldValue = (info: FieldInfo): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: info.length, maxLength: info.length }).map((b) => valueFor(info, b));

const oxmField = (masked: boolean): fc.Arbitrary<OxmField> =>
  fieldArb.chain((info) =>
    fc.tuple(fieldValue(info), masked && info.maskable ? fc.option(fc.uint8Array({ minLength: info.length, maxLength: info.length }), { nil: undefined }) : fc.constant(undefined)).map(([value, mask]) => {
      if (!mask) return { field: info.name, value };
      const v = value.map((x, i) => x & mask[i]!);
      return { field: info.name, value: v, mask: valueFor(info, mask) };
    }),
  );

/** Prerequisite chains OVS accepts: eth_type, then ip_proto, then the field. */
const PREREQ_PREFIXES: readonly Match[] = [
  [],
  [{ field: 'eth_type', value: Uint8Array.of(0x08, 0x00) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x86, 0xdd) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x08, 0x06) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x08, 0x00) }, { field: 'ip_proto', value: Uint8Array.of(6) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x08, 0x00) }, { field: 'ip_proto', value: Uint8Array.of(17) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x08, 0x00) }, { field: 'ip_proto', value: Uint8Array.of(1) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x86, 0xdd) }, { field: 'ip_proto', value: Uint8Array.of(58) }],
  [{ field: 'eth_type', value: Uint8Array.of(0x88, 0x47) }],
  [{ field: 'vlan_vid', value: Uint8Array.of(0x10, 0x05) }],
];

/** A match: a prerequisite prefix and up to 4 random fields (duplicates and missing prerequisites happen). */
export const matchArb: fc.Arbitrary<Match> = fc
  .tuple(fc.constantFrom(...PREREQ_PREFIXES), fc.array(oxmField(true), { maxLength: 4 }))
  .map(([pre, rest]) => [...pre, ...rest]);

const fieldRef: fc.Arbitrary<{ ref: FieldRef; bits: number }> = fieldArb.map((info) => ({ ref: fieldRefFor(info), bits: info.length * 8 }));

// ---- actions ----------------------------------------------------------------------------------------------------------

const ETHERTYPES = [0x8100, 0x88a8, 0x8847, 0x8848, 0x88e7, 0x0800];

function leafAction(): fc.Arbitrary<Action> {
  const subfield = fieldRef.chain(({ ref, bits }) =>
    fc.integer({ min: 0, max: bits - 1 }).chain((ofs) => fc.integer({ min: 1, max: bits - ofs }).map((nBits) => ({ ref, ofs, nBits }))),
  );
  return fc.oneof(
    fc.record({ type: fc.constant('output' as const), port, maxLen: oneOfOr([0, 0xffff, 0xffe5, 128], u16) }),
    fc.constantFrom<Action>({ type: 'copy_ttl_out' }, { type: 'copy_ttl_in' }, { type: 'dec_mpls_ttl' }, { type: 'pop_vlan' }, { type: 'dec_nw_ttl' }, { type: 'pop_pbb' }, { type: 'nx_ct_clear' }, { type: 'nx_exit' }),
    fc.record({ type: fc.constant('set_mpls_ttl' as const), ttl: u8 }),
    fc.record({ type: fc.constant('set_nw_ttl' as const), ttl: u8 }),
    fc.record({ type: fc.constantFrom('push_vlan' as const, 'push_mpls' as const, 'pop_mpls' as const, 'push_pbb' as const), ethertype: oneOfOr(ETHERTYPES, u16) }),
    fc.record({ type: fc.constant('set_queue' as const), queueId: oneOfOr([0, 1, 0xffffffff], u32) }),
    fc.record({ type: fc.constant('group' as const), groupId: oneOfOr([0, 1, 0xffffff00, 0xfffffffc, 0xffffffff], u32) }),
    fc.record({ type: fc.constant('set_field' as const), field: oxmField(false) }),
    fc.record({ type: fc.constant('nx_resubmit' as const), inPort: oneOfOr([0xfff8, 1, 0xffff], u16), table: fc.option(tableId, { nil: undefined }) }).map((a) => (a.table === undefined ? { type: a.type, inPort: a.inPort } : a)),
    fc.tuple(subfield, subfield).map(([s, d]): Action => {
      const n = Math.min(s.nBits, d.nBits);
      return { type: 'nx_reg_move', nBits: n, srcOfs: s.ofs, dstOfs: d.ofs, src: s.ref, dst: d.ref };
    }),
    fc.tuple(subfield, u64).map(([d, v]): Action => ({ type: 'nx_reg_load', ofs: d.ofs, nBits: d.nBits, dst: d.ref, value: d.nBits >= 64 ? v : v & ((1n << BigInt(d.nBits)) - 1n) })),
    fc.record({ type: fc.constant('nx_reg_load2' as const), field: oxmField(true) }),
    fc.record({ type: fc.constant('nx_conjunction' as const), clause: fc.integer({ min: 0, max: 63 }), nClauses: fc.integer({ min: 0, max: 64 }), id: u32 }),
    fc.record({ type: fc.constant('nx_note' as const), note: bytes(20) }),
    fc.record({ type: fc.constant('nx_dec_ttl' as const), controllerIds: fc.option(fc.array(u16, { maxLength: 4 }), { nil: undefined }) }).map((a) => (a.controllerIds ? a : { type: a.type })),
    fc.record({ type: fc.constant('nx_controller' as const), maxLen: oneOfOr([0, 0xffff, 128], u16), controllerId: oneOfOr([0, 1], u16), reason: oneOfOr([0, 1, 2], u8) }),
    fc
      .record({ maxLen: fc.option(u16, { nil: undefined }), controllerId: fc.option(u16, { nil: undefined }), reason: fc.option(oneOfOr([0, 1, 2, 3, 4, 5], u8), { nil: undefined }), userdata: fc.option(bytes(12), { nil: undefined }), pause: fc.boolean(), meterId: fc.option(u32, { nil: undefined }) })
      .map((r): Action => {
        const a: Record<string, unknown> = { type: 'nx_controller2' };
        for (const [k, v] of Object.entries(r)) if (v !== undefined && v !== false) a[k] = v;
        return a as Action;
      }),
    fc.tuple(subfield, oneOfOr([0, 0xffff, 128], u16), fc.boolean()).map(([s, maxLen, two]): Action => ({ type: two ? 'nx_output_reg2' : 'nx_output_reg', ofs: s.ofs, nBits: s.nBits, src: s.ref, maxLen })),
    fc.tuple(subfield, oneOfOr([0, 1], u16), u16, oneOfOr([0, 1, 2, 3], u16), oneOfOr([1, 15, 1023], u16), u32).map(([d, fields, basis, algorithm, maxLink, arg]): Action => ({ type: 'nx_multipath', fields, basis, algorithm, maxLink, arg, ofs: d.ofs, nBits: d.nBits, dst: d.ref })),
    fc.record({ version: fc.constantFrom(1 as const, 2 as const, 3 as const), probability: u16, collectorSetId: u32, obsDomainId: u32, obsPointId: u32, samplingPort: port, direction: oneOfOr([0, 1, 2], u8) }).map((s): Action => {
      if (s.version === 1) return { type: 'nx_sample', version: 1, probability: s.probability, collectorSetId: s.collectorSetId, obsDomainId: s.obsDomainId, obsPointId: s.obsPointId };
      if (s.version === 2) return { type: 'nx_sample', version: 2, probability: s.probability, collectorSetId: s.collectorSetId, obsDomainId: s.obsDomainId, obsPointId: s.obsPointId, samplingPort: s.samplingPort };
      return { type: 'nx_sample', ...s };
    }),
    fc.record({ type: fc.constant('nx_fin_timeout' as const), finIdleTimeout: u16, finHardTimeout: u16 }),
    fc.tuple(subfield, subfield).map(([s, d]): Action => ({ type: 'onf_copy_field', nBits: Math.min(s.nBits, d.nBits), srcOffset: s.ofs, dstOffset: d.ofs, src: s.ref, dst: d.ref })),
    fc
      .record({ flags: oneOfOr([0, 1, 2, 3, 0x1f], u16), rangePresent: fc.integer({ min: 0, max: 0x3f }), a: u32, b: u32, c: fc.uint8Array({ minLength: 16, maxLength: 16 }), d: fc.uint8Array({ minLength: 16, maxLength: 16 }), e: u16, f: u16 })
      .map((n): Action => ({
        type: 'nx_nat',
        flags: n.flags,
        rangePresent: n.rangePresent,
        ...(n.rangePresent & 1 ? { ipv4Min: n.a } : {}),
        ...(n.rangePresent & 2 ? { ipv4Max: n.b } : {}),
        ...(n.rangePresent & 4 ? { ipv6Min: n.c } : {}),
        ...(n.rangePresent & 8 ? { ipv6Max: n.d } : {}),
        ...(n.rangePresent & 16 ? { protoMin: n.e } : {}),
        ...(n.rangePresent & 32 ? { protoMax: n.f } : {}),
      })),
    fc.record({
      type: fc.constant('nx_learn' as const),
      idleTimeout: oneOfOr([0, 10, 0xffff], u16),
      hardTimeout: oneOfOr([0, 10, 0xffff], u16),
      priority: oneOfOr([0x8000, 0, 1], u16),
      cookie: u64,
      flags: oneOfOr([0, 1, 2, 4], u16),
      tableId: tableId,
      finIdleTimeout: oneOfOr([0, 5], u16),
      finHardTimeout: oneOfOr([0, 5], u16),
      specs: fc.constant(new Uint8Array(0)),
    }),
    fc.record({ experimenter: oneOfOr([NX_VENDOR_ID, ONF_EXPERIMENTER_ID, 0x12345678], u32), subtype: u16, body: fc.uint8Array({ maxLength: 6 }) }).map(({ experimenter, subtype, body }): Action => {
      // An experimenter action we do not model: header (type, len), experimenter, subtype, body padded to 8.
      const len = 16 + (body.length > 6 ? 8 : 0);
      const raw = new Uint8Array(len);
      const dv = new DataView(raw.buffer);
      dv.setUint16(0, 0xffff);
      dv.setUint16(2, len);
      dv.setUint32(4, experimenter);
      dv.setUint16(8, subtype);
      raw.set(body, 10);
      return { type: 'experimenter', experimenter, subtype, raw };
    }),
  );
}

const leaf = leafAction();
const nestedActions = fc.array(leaf, { maxLength: 3 });

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: leaf },
  { weight: 1, arbitrary: nestedActions.map((actions): Action => ({ type: 'nx_clone', actions })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ flags: oneOfOr([0, 1, 2, 3], u16), zoneImm: oneOfOr([0, 1, 0xffff], u16), recircTable: oneOfOr([0xff, 0, 5], u8), alg: oneOfOr([0, 21, 69], u16), actions: nestedActions })
      .map((c): Action => ({ type: 'nx_ct', zoneOfs: 0, zoneNBits: 0, ...c })),
  },
);
export const actionsArb = fc.array(actionArb, { maxLength: 4 });

export const instructionsArb: fc.Arbitrary<Instruction[]> = fc.array(
  fc.oneof(
    fc.record({ type: fc.constant('goto_table' as const), tableId }),
    fc.record({ type: fc.constant('write_metadata' as const), metadata: u64, mask: oneOfOr([0xffffffffffffffffn, 0xffn], u64) }),
    fc.record({ type: fc.constant('write_actions' as const), actions: actionsArb }),
    fc.record({ type: fc.constant('apply_actions' as const), actions: actionsArb }),
    fc.constant({ type: 'clear_actions' as const }),
    fc.record({ type: fc.constant('meter' as const), meterId: oneOfOr([1, 0, 0xffff0000, 0xffffffff], u32) }),
  ),
  { maxLength: 3 },
);

// ---- packets (the frames in packet-in / packet-out, whose summary OVS prints) -----------------------------------------

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const be16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
const raw = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

/** An L4 header and payload: mostly long enough for the header, sometimes cut short. */
const l4 = raw(0, 40);

/** An IPv4 header (options, fragments, lengths that lie now and then) and what follows it. */
const ipv4: fc.Arbitrary<Uint8Array> = fc
  .record({ ihl: oneOfOr([5, 6], fc.integer({ min: 0, max: 15 })), tos: u8, frag: oneOfOr([0, 0x4000, 0x2000, 0x0010, 0x2008], u16), ttl: u8, proto: oneOfOr([1, 2, 6, 17, 132, 58, 44], u8), addrs: raw(8, 8), body: l4, lie: fc.integer({ min: -30, max: 10 }) })
  .map(({ ihl, tos, frag, ttl, proto, addrs, body, lie }) => {
    const opts = new Uint8Array(Math.max(0, ihl * 4 - 20));
    const tot = Math.max(0, 20 + opts.length + body.length + (lie > 0 ? 0 : lie));
    const h = cat(Uint8Array.of(0x40 | ihl, tos), be16(tot), Uint8Array.of(0, 1), be16(frag), Uint8Array.of(ttl, proto, 0, 0), addrs);
    return cat(h, opts, body);
  });

/** An IPv6 header, a chain of extension headers, and what follows. */
const ipv6: fc.Arbitrary<Uint8Array> = fc
  .record({
    flow: u32,
    hlim: u8,
    addrs: raw(32, 32),
    exts: fc.array(fc.record({ type: fc.constantFrom(0, 43, 60, 51, 44), len: fc.integer({ min: 0, max: 1 }), offlg: oneOfOr([0, 1, 8], u16) }), { maxLength: 2 }),
    proto: oneOfOr([6, 17, 58, 132, 59], u8),
    body: l4,
    nd: fc.option(fc.record({ type: fc.constantFrom(135, 136), target: raw(16, 16), opts: fc.array(fc.record({ type: oneOfOr([1, 2], u8), len: oneOfOr([1], fc.integer({ min: 0, max: 3 })), mac: raw(6, 6) }), { maxLength: 3 }) }), { nil: undefined }),
    lie: fc.integer({ min: -8, max: 4 }),
  })
  .map(({ flow, hlim, addrs, exts, proto, body, nd, lie }) => {
    let next = nd ? 58 : proto;
    let payload = nd ? cat(Uint8Array.of(nd.type, 0, 0, 0, 0, 0, 0, 0), nd.target, ...nd.opts.map((o) => cat(Uint8Array.of(o.type, o.len), o.mac, new Uint8Array(Math.max(0, o.len * 8 - 8))))) : body;
    for (const e of [...exts].reverse()) {
      const size = e.type === 44 ? 8 : e.type === 51 ? (e.len + 2) * 4 : (e.len + 1) * 8;
      const h = new Uint8Array(size);
      h[0] = next;
      h[1] = e.len;
      if (e.type === 44) h.set(be16(e.offlg), 2);
      payload = cat(h, payload);
      next = e.type;
    }
    const plen = Math.max(0, payload.length + (lie > 0 ? 0 : lie));
    const h = cat(Uint8Array.of(0x60 | ((flow >>> 24) & 0x0f), (flow >>> 16) & 0xff, (flow >>> 8) & 0xff, flow & 0xff), be16(plen), Uint8Array.of(next, hlim), addrs);
    return cat(h, payload);
  });

const arp: fc.Arbitrary<Uint8Array> = fc
  .record({ hrd: oneOfOr([1], u16), pro: oneOfOr([0x0800], u16), hln: oneOfOr([6], u8), pln: oneOfOr([4], u8), op: oneOfOr([1, 2, 0x100], u16), rest: raw(20, 20) })
  .map(({ hrd, pro, hln, pln, op, rest }) => cat(be16(hrd), be16(pro), Uint8Array.of(hln, pln), be16(op), rest));

const mpls: fc.Arbitrary<Uint8Array> = fc.array(u32, { minLength: 1, maxLength: 4 }).map((lses) => cat(...lses.map((l) => Uint8Array.of(l >>> 24, (l >>> 16) & 0xff, (l >>> 8) & 0xff, l & 0xff))));

/** An Ethernet frame: addresses, up to three VLAN tags, an ethertype (or 802.3 length and LLC/SNAP), a body. */
export const packetArb: fc.Arbitrary<Uint8Array> = fc
  .record({
    macs: raw(12, 12),
    vlans: fc.array(fc.tuple(fc.constantFrom(0x8100, 0x88a8), u16), { maxLength: 3 }),
    l3: fc.oneof<fc.Arbitrary<readonly [number, Uint8Array]>[]>(
      ipv4.map((b) => [0x0800, b] as const),
      ipv6.map((b) => [0x86dd, b] as const),
      fc.tuple(fc.constantFrom(0x0806, 0x8035), arp),
      mpls.map((b) => [0x8847, b] as const),
      fc.tuple(fc.constantFrom(0x0800, 0x86dd, 0x0806), raw(0, 8)).map(([t, b]) => [t, b] as const),
      fc.tuple(u16, raw(0, 16)).map(([t, b]) => [t, b] as const),
      fc.tuple(fc.integer({ min: 0, max: 0x5ff }), fc.boolean(), fc.constantFrom(0x0800, 0x0100), ipv4).map(([len, snap, t, b]) => [len, snap ? cat(Uint8Array.of(0xaa, 0xaa, 3, 0, 0, 0), be16(t), b) : b] as const),
    ),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ macs, vlans, l3: [type, body], cut }) => {
    const frame = cat(macs, ...vlans.map(([tpid, tci]) => cat(be16(tpid), be16(tci))), be16(type), body);
    return cut === undefined ? frame : frame.subarray(0, cut % (frame.length + 1));
  });

/**
 * Raw bytes, but not starting with the version byte of another OpenFlow version OVS decodes (1.0-1.2, 1.4, 1.5):
 * OVS names and prints those by that version's own type numbers; the codec knows OpenFlow 1.3 (the same reason the
 * `version` corruption is on the open list).
 */
const errorDataBytes = bytes(24).filter((b) => b.length === 0 || ![1, 2, 3, 5, 6].includes(b[0]!));

// ---- message parts --------------------------------------------------------------------------------------------------

const portArb: fc.Arbitrary<Port> = fc.record({
  portNo: port,
  hwAddr: mac,
  name: text(15),
  config: oneOfOr([0, 1, 4, 0x65], u32),
  state: oneOfOr([0, 1, 2, 4], u32),
  curr: oneOfOr([0, 0x840, 0x2820], u32),
  advertised: oneOfOr([0], u32),
  supported: oneOfOr([0], u32),
  peer: oneOfOr([0], u32),
  currSpeed: oneOfOr([0, 10_000_000, 1_000_000], u32),
  maxSpeed: oneOfOr([0, 10_000_000], u32),
});

const bucketArb: fc.Arbitrary<Bucket> = fc.record({ weight: oneOfOr([0, 1, 100], u16), watchPort: port, watchGroup: oneOfOr([0xffffffff, 1], u32), actions: actionsArb });

const bandArb: fc.Arbitrary<MeterBand> = fc.oneof(
  fc.record({ type: fc.constant(1), rate: u32, burstSize: u32 }),
  fc.record({ type: fc.constant(2), rate: u32, burstSize: u32, precLevel: u8 }),
  fc.record({ type: fc.constant(0xffff), rate: u32, burstSize: u32, experimenter: u32 }),
);

const flowStatsArb = fc.record({
  tableId,
  durationSec: u32,
  durationNsec: nsec,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  flags: oneOfOr([0, 1, 2, 4, 8, 16, 0x1f], u16),
  cookie: u64,
  packetCount: u64,
  byteCount: u64,
  match: matchArb,
  instructions: instructionsArb,
});

const u64s = u64;
const mp = <T extends object>(r: fc.Arbitrary<T>): fc.Arbitrary<T & { flags: number; xid: number }> => fc.tuple(r, oneOfOr([0, 1], u16), xid).map(([o, flags, x]) => ({ ...o, flags, xid: x }));
const plain = <T extends object>(r: fc.Arbitrary<T>): fc.Arbitrary<T & { xid: number }> => fc.tuple(r, xid).map(([o, x]) => ({ ...o, xid: x }));
const c = <T>(v: T): fc.Arbitrary<T> => fc.constant(v);
const flowReq = { tableId, outPort: port, outGroup: oneOfOr([0xffffffff, 1], u32), cookie: u64, cookieMask: oneOfOr([0n, 0xffffffffffffffffn], u64), match: matchArb };
const asyncCfg = { packetInMask: fc.tuple(u32, u32), portStatusMask: fc.tuple(u32, u32), flowRemovedMask: fc.tuple(u32, u32) };
const tableFeatures = fc.record({ tableId, name: text(31), metadataMatch: u64, metadataWrite: u64, config: oneOfOr([0, 3], u32), maxEntries: u32, properties: c([]) });

const groupModArb = plain(fc.record({ type: c('group_mod' as const), command: oneOfOr([0, 1, 2], u16), groupType: oneOfOr([0, 1, 2, 3], u8), groupId: oneOfOr([1, 0xffffff00, 0xfffffffc], u32), buckets: fc.array(bucketArb, { maxLength: 3 }) }));
const meterModArb = plain(fc.record({ type: c('meter_mod' as const), command: oneOfOr([0, 1, 2], u16), flags: oneOfOr([1, 2, 5, 9, 0xf], u16), meterId: oneOfOr([1, 0xffff0000, 0xfffffffd, 0xfffffffe, 0xffffffff], u32), bands: fc.array(bandArb, { maxLength: 3 }) }));

/** Another type's arbitrary, looked up when generating (MESSAGE_ARBS is still being built where this is used). */
const MESSAGE_ARBS_LAZY = (k: MessageType): fc.Arbitrary<Message> => c(0).chain(() => MESSAGE_ARBS[k]);

/** One arbitrary per message type the codec models. */
export const MESSAGE_ARBS: { readonly [T in MessageType]: fc.Arbitrary<Message> } = {
  hello: plain(fc.record({ type: c('hello' as const), version: c(4), versions: fc.option(fc.subarray([1, 2, 3, 4, 5, 6], { minLength: 1 }).map((v) => (v.includes(4) ? v : [...v, 4].sort())), { nil: undefined }) })).map((m) => (m.versions ? m : { type: m.type, version: m.version, xid: m.xid })),
  error: plain(fc.record({ type: c('error' as const), errType: oneOfOr([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], u16), code: oneOfOr([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], u16), data: fc.oneof(errorDataBytes, fc.constant(0).chain(() => errorDataMessage)) })),
  echo_request: plain(fc.record({ type: c('echo_request' as const), data: bytes(40) })),
  echo_reply: plain(fc.record({ type: c('echo_reply' as const), data: bytes(40) })),
  experimenter: plain(fc.record({ type: c('experimenter' as const), experimenter: oneOfOr([0x12345678, NX_VENDOR_ID, ONF_EXPERIMENTER_ID], u32), expType: u32, data: bytes(24) })),
  features_request: plain(fc.record({ type: c('features_request' as const) })),
  features_reply: plain(fc.record({ type: c('features_reply' as const), datapathId: u64, nBuffers: u32, nTables: u8, auxiliaryId: oneOfOr([0], u8), capabilities: oneOfOr([0x4f, 0, 0x1ff], u32) })),
  get_config_request: plain(fc.record({ type: c('get_config_request' as const) })),
  get_config_reply: plain(fc.record({ type: c('get_config_reply' as const), flags: oneOfOr([0, 1, 2, 3], u16), missSendLen: u16 })),
  set_config: plain(fc.record({ type: c('set_config' as const), flags: oneOfOr([0, 1, 2, 3], u16), missSendLen: u16 })),
  packet_in: plain(fc.record({ type: c('packet_in' as const), bufferId: oneOfOr([0xffffffff, 1], u32), totalLen: u16, reason: oneOfOr([0, 1, 2], u8), tableId, cookie: u64, match: matchArb, data: fc.oneof(bytes(64), packetArb) })),
  flow_removed: plain(fc.record({ type: c('flow_removed' as const), cookie: u64, priority: u16, reason: oneOfOr([0, 1, 2, 3], u8), tableId, durationSec: u32, durationNsec: nsec, idleTimeout: u16, hardTimeout: u16, packetCount: u64, byteCount: u64, match: matchArb })),
  port_status: plain(fc.record({ type: c('port_status' as const), reason: oneOfOr([0, 1, 2], u8), port: portArb })),
  packet_out: plain(fc.record({ type: c('packet_out' as const), bufferId: oneOfOr([0xffffffff, 1], u32), inPort: port, actions: actionsArb, data: fc.oneof(bytes(64), packetArb) })).map((m) => (m.bufferId === 0xffffffff ? m : { ...m, data: new Uint8Array(0) })),
  flow_mod: plain(
    fc.record({
      type: c('flow_mod' as const),
      cookie: u64,
      cookieMask: oneOfOr([0n, 0xffffffffffffffffn], u64),
      tableId,
      command: oneOfOr([0, 1, 2, 3, 4], u8),
      idleTimeout: oneOfOr([0, 10], u16),
      hardTimeout: oneOfOr([0, 30], u16),
      priority: oneOfOr([0x8000, 0, 100, 0xffff], u16),
      bufferId: oneOfOr([0xffffffff], u32),
      outPort: oneOfOr([0xffffffff], port),
      outGroup: oneOfOr([0xffffffff], u32),
      flags: oneOfOr([0, 1, 2, 4, 8, 16], u16),
      match: matchArb,
      instructions: instructionsArb,
    }),
  ),
  group_mod: groupModArb,
  port_mod: plain(fc.record({ type: c('port_mod' as const), portNo: port, hwAddr: mac, config: oneOfOr([0, 1, 0x65], u32), mask: oneOfOr([0, 1, 0x65], u32), advertise: oneOfOr([0, 0x840], u32) })),
  table_mod: plain(fc.record({ type: c('table_mod' as const), tableId, config: oneOfOr([0, 3, 4, 8], u32) })),
  desc_request: mp(fc.record({ type: c('desc_request' as const) })),
  desc_reply: mp(fc.record({ type: c('desc_reply' as const), mfrDesc: text(40), hwDesc: text(40), swDesc: text(40), serialNum: text(20), dpDesc: text(40) })),
  flow_stats_request: mp(fc.record({ type: c('flow_stats_request' as const), ...flowReq })),
  flow_stats_reply: mp(fc.record({ type: c('flow_stats_reply' as const), flows: fc.array(flowStatsArb, { maxLength: 3 }) })),
  aggregate_stats_request: mp(fc.record({ type: c('aggregate_stats_request' as const), ...flowReq })),
  aggregate_stats_reply: mp(fc.record({ type: c('aggregate_stats_reply' as const), packetCount: u64, byteCount: u64, flowCount: u32 })),
  table_stats_request: mp(fc.record({ type: c('table_stats_request' as const) })),
  table_stats_reply: mp(fc.record({ type: c('table_stats_reply' as const), tables: fc.array(fc.record({ tableId, activeCount: u32, lookupCount: u64s, matchedCount: u64s }), { maxLength: 3 }) })),
  port_stats_request: mp(fc.record({ type: c('port_stats_request' as const), portNo: port })),
  port_stats_reply: mp(
    fc.record({
      type: c('port_stats_reply' as const),
      ports: fc.array(
        fc.record({ portNo: port, rxPackets: u64, txPackets: u64, rxBytes: u64, txBytes: u64, rxDropped: u64, txDropped: u64, rxErrors: u64, txErrors: u64, rxFrameErr: u64, rxOverErr: u64, rxCrcErr: u64, collisions: u64, durationSec: u32, durationNsec: nsec }),
        { maxLength: 3 },
      ),
    }),
  ),
  queue_stats_request: mp(fc.record({ type: c('queue_stats_request' as const), portNo: port, queueId: oneOfOr([0xffffffff, 0, 1], u32) })),
  queue_stats_reply: mp(fc.record({ type: c('queue_stats_reply' as const), queues: fc.array(fc.record({ portNo: port, queueId: u32, txBytes: u64, txPackets: u64, txErrors: u64, durationSec: u32, durationNsec: nsec }), { maxLength: 3 }) })),
  group_stats_request: mp(fc.record({ type: c('group_stats_request' as const), groupId: oneOfOr([0xfffffffc, 1], u32) })),
  group_stats_reply: mp(
    fc.record({
      type: c('group_stats_reply' as const),
      groups: fc.array(fc.record({ groupId: u32, refCount: u32, packetCount: u64, byteCount: u64, durationSec: u32, durationNsec: nsec, buckets: fc.array(fc.record({ packetCount: u64, byteCount: u64 }), { maxLength: 3 }) }), { maxLength: 2 }),
    }),
  ),
  group_desc_request: mp(fc.record({ type: c('group_desc_request' as const) })),
  group_desc_reply: mp(fc.record({ type: c('group_desc_reply' as const), groups: fc.array(fc.record({ groupType: oneOfOr([0, 1, 2, 3], u8), groupId: u32, buckets: fc.array(bucketArb, { maxLength: 2 }) }), { maxLength: 2 }) })),
  group_features_request: mp(fc.record({ type: c('group_features_request' as const) })),
  group_features_reply: mp(fc.record({ type: c('group_features_reply' as const), types: oneOfOr([0xf, 0], u32), capabilities: oneOfOr([0xf, 0], u32), maxGroups: fc.tuple(u32, u32, u32, u32), actions: fc.tuple(u32, u32, u32, u32) })),
  meter_stats_request: mp(fc.record({ type: c('meter_stats_request' as const), meterId: oneOfOr([0xffffffff, 1], u32) })),
  meter_stats_reply: mp(
    fc.record({
      type: c('meter_stats_reply' as const),
      meters: fc.array(fc.record({ meterId: u32, flowCount: u32, packetInCount: u64, byteInCount: u64, durationSec: u32, durationNsec: nsec, bands: fc.array(fc.record({ packetBandCount: u64, byteBandCount: u64 }), { maxLength: 2 }) }), { maxLength: 2 }),
    }),
  ),
  meter_config_request: mp(fc.record({ type: c('meter_config_request' as const), meterId: oneOfOr([0xffffffff, 1], u32) })),
  meter_config_reply: mp(fc.record({ type: c('meter_config_reply' as const), meters: fc.array(fc.record({ flags: oneOfOr([1, 2, 5, 9, 0xf], u16), meterId: u32, bands: fc.array(bandArb, { maxLength: 2 }) }), { maxLength: 2 }) })),
  meter_features_request: mp(fc.record({ type: c('meter_features_request' as const) })),
  meter_features_reply: mp(fc.record({ type: c('meter_features_reply' as const), maxMeter: u32, bandTypes: oneOfOr([6, 2], u32), capabilities: oneOfOr([0xf], u32), maxBands: u8, maxColor: u8 })),
  table_features_request: mp(fc.record({ type: c('table_features_request' as const), tables: fc.array(tableFeatures, { maxLength: 2 }) })),
  table_features_reply: mp(fc.record({ type: c('table_features_reply' as const), tables: fc.array(tableFeatures, { maxLength: 2 }) })),
  port_desc_request: mp(fc.record({ type: c('port_desc_request' as const) })),
  port_desc_reply: mp(fc.record({ type: c('port_desc_reply' as const), ports: fc.array(portArb, { maxLength: 3 }) })),
  experimenter_stats_request: mp(fc.record({ type: c('experimenter_stats_request' as const), experimenter: oneOfOr([0x12345678, NX_VENDOR_ID], u32), expType: u32, data: bytes(16) })),
  experimenter_stats_reply: mp(fc.record({ type: c('experimenter_stats_reply' as const), experimenter: oneOfOr([0x12345678, NX_VENDOR_ID], u32), expType: u32, data: bytes(16) })),
  barrier_request: plain(fc.record({ type: c('barrier_request' as const) })),
  barrier_reply: plain(fc.record({ type: c('barrier_reply' as const) })),
  queue_get_config_request: plain(fc.record({ type: c('queue_get_config_request' as const), port })),
  queue_get_config_reply: plain(
    fc.record({
      type: c('queue_get_config_reply' as const),
      port,
      // min/max rate properties (a rate and 6 bytes of padding; rates over 1000 mean disabled), sometimes another
      // type or another length.
      queues: fc.array(
        fc.record({
          queueId: oneOfOr([0, 1, 7, 0xffffffff], u32),
          port,
          properties: fc.array(
            fc.oneof(
              { weight: 4, arbitrary: fc.record({ type: fc.constantFrom(1, 2), data: oneOfOr([0, 1, 500, 999, 1000, 1001, 0xfffe, 0xffff], u16).map((r) => Uint8Array.of(r >> 8, r & 0xff, 0, 0, 0, 0, 0, 0)) }) },
              { weight: 1, arbitrary: fc.record({ type: oneOfOr([1, 2, 3, 0xffff], u16), data: fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n })) }) },
            ),
            { maxLength: 3 },
          ),
        }),
        { maxLength: 3 },
      ),
    }),
  ),
  role_request: plain(fc.record({ type: c('role_request' as const), role: oneOfOr([0, 1, 2, 3], u32), generationId: u64 })),
  role_reply: plain(fc.record({ type: c('role_reply' as const), role: oneOfOr([0, 1, 2, 3], u32), generationId: u64 })),
  get_async_request: plain(fc.record({ type: c('get_async_request' as const) })),
  get_async_reply: plain(fc.record({ type: c('get_async_reply' as const), ...asyncCfg })),
  set_async: plain(fc.record({ type: c('set_async' as const), ...asyncCfg })),
  meter_mod: meterModArb,
  bundle_control: plain(fc.record({ type: c('bundle_control' as const), bundleId: u32, ctrlType: oneOfOr([0, 1, 2, 3, 4, 5, 6, 7], u16), bundleFlags: oneOfOr([0, 1, 2, 3], u16), properties: fc.oneof({ weight: 5, arbitrary: c(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n })) }) })),
  // The embedded message: what OVS bundles (port_mod, flow_mod, group_mod, packet_out: those off the open list) and
  // what it does not, mostly with the bundle_add's xid, as OVS requires; then, sometimes, bytes after it (padding and
  // properties, which OVS does not read).
  bundle_add: fc
    .tuple(
      plain(
        fc.record({
          type: c('bundle_add' as const),
          bundleId: u32,
          bundleFlags: oneOfOr([0, 1, 2, 3], u16),
          message: fc.oneof(
            ...(['port_mod', 'flow_mod', 'group_mod', 'packet_out', 'port_mod', 'barrier_request', 'meter_mod'] as const).filter((k) => !(k in NOT_YET_AGREEING.messages)).map(MESSAGE_ARBS_LAZY),
          ),
          properties: fc.oneof({ weight: 4, arbitrary: c(new Uint8Array(0)) }, { weight: 1, arbitrary: bytes(24) }),
        }),
      ),
      fc.integer({ min: 0, max: 9 }),
    )
    .map(([m, roll]) => (roll < 8 ? { ...m, message: { ...m.message, xid: m.xid } } : m)),
  role_status: plain(fc.record({ type: c('role_status' as const), role: oneOfOr([0, 1, 2, 3], u32), reason: oneOfOr([0, 1, 2, 3], u8), generationId: oneOfOr([0xffffffffffffffffn, 0n], u64), properties: fc.integer({ min: 0, max: 2 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n })) })),
  // A forwarded group_mod disagrees where group_mod does (on the NOT_YET_AGREEING list): meter_mod only until then.
  requestforward: plain(fc.record({ type: c('requestforward' as const), message: meterModArb })),
  flow_monitor_cancel: plain(fc.record({ type: c('flow_monitor_cancel' as const), id: u32 })),
  flow_monitor_paused: plain(fc.record({ type: c('flow_monitor_paused' as const) })),
  flow_monitor_resumed: plain(fc.record({ type: c('flow_monitor_resumed' as const) })),
};

// ---- the data of an OFPT_ERROR -------------------------------------------------------------------------------------

/** What a switch puts there: the request it refused, whole or cut to its first bytes (OVS sends at most 64). */
const errorDataMessage: fc.Arbitrary<Uint8Array> = fc
  .constantFrom(...(Object.keys(MESSAGE_ARBS) as MessageType[]).filter((k) => k !== 'error' && !(k in NOT_YET_AGREEING.messages)))
  .chain((k) => fc.tuple(MESSAGE_ARBS[k], fc.integer({ min: 0, max: 96 })))
  .map(([m, cut]) => {
    try {
      const b = new Uint8Array(encodeMessage(m));
      return cut > 64 ? b : b.subarray(0, cut);
    } catch {
      return new Uint8Array(0);
    }
  });

// ---- corruptions --------------------------------------------------------------------------------------------------------

const setLength = (b: Uint8Array): Uint8Array => {
  if (b.length >= 4) {
    b[2] = (b.length >> 8) & 0xff;
    b[3] = b.length & 0xff;
  }
  return b;
};

const INTERESTING_U16 = [0, 1, 4, 7, 8, 9, 15, 16, 24, 0xff, 0x7fff, 0x8000, 0xfff8, 0xfffe, 0xffff];

/** How a valid encoding is damaged; every result is still a whole frame (header length = byte length). */
const ALL_CORRUPTIONS: fc.Arbitrary<{ name: string; apply: (b: Uint8Array) => Uint8Array }>[] = [
  fc.nat().map((n) => ({ name: 'truncate', apply: (b: Uint8Array) => setLength(b.slice(0, 8 + (b.length > 8 ? n % (b.length - 8) : 0))) })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([n, k]) => ({ name: 'extend', apply: (b: Uint8Array) => { const out = new Uint8Array(b.length + k); out.set(b); out.fill(n & 0xff, b.length); return setLength(out); } })),
  fc.tuple(fc.nat(), fc.constantFrom(...INTERESTING_U16)).map(([n, v]) => ({
    name: 'u16',
    apply: (b: Uint8Array) => {
      const out = b.slice();
      if (out.length <= 10) return out;
      // Aligned 16-bit words hold nearly every length, type, command and flag field.
      const at = 8 + 2 * (n % Math.floor((out.length - 9) / 2));
      out[at] = v >> 8;
      out[at + 1] = v & 0xff;
      return out;
    },
  })),
  fc.tuple(fc.nat(), u8).map(([n, v]) => ({ name: 'byte', apply: (b: Uint8Array) => { const out = b.slice(); if (out.length > 8) out[8 + (n % (out.length - 8))] = v; return out; } })),
  fc.constantFrom(...[0x1d, 0x1e, 0x30, 0xff]).map((t) => ({ name: 'type', apply: (b: Uint8Array) => { const out = b.slice(); out[1] = t; return out; } })),
  fc.constantFrom(0, 1, 3, 5, 6, 0x7f).map((v) => ({ name: 'version', apply: (b: Uint8Array) => { const out = b.slice(); out[0] = v; return out; } })),
];
const CORRUPTION_NAMES = ['truncate', 'extend', 'u16', 'byte', 'type', 'version'];
const corruptionArb = fc.oneof(...ALL_CORRUPTIONS.filter((_, i) => !(CORRUPTION_NAMES[i]! in NOT_YET_AGREEING.corruptions)));

/** Message types paired with their arbitraries, in a stable order. */
export const MESSAGE_KINDS = Object.keys(MESSAGE_ARBS) as MessageType[];

/**
 * A case for one of `kinds`: the message encoded by our encoder, and in about `corruptShare` of the cases, damaged.
 * Messages the encoder itself refuses (generated values it rejects) are skipped by the caller.
 */
export function caseArb(kinds: readonly MessageType[], corruptShare = 0.35): fc.Arbitrary<{ kind: MessageType; msg: Message; corrupt?: { name: string; apply: (b: Uint8Array) => Uint8Array } }> {
  const pct = Math.round(corruptShare * 100);
  return fc.constantFrom(...kinds).chain((kind) =>
    fc.tuple(MESSAGE_ARBS[kind], fc.integer({ min: 0, max: 99 }), corruptionArb).map(([msg, roll, corrupt]) => (roll < pct ? { kind, msg, corrupt } : { kind, msg })),
  );
}

/** Encodes a generated case; undefined when our encoder refuses the generated message. */
export function toCase(g: { kind: MessageType; msg: Message; corrupt?: { name: string; apply: (b: Uint8Array) => Uint8Array } }): Case | undefined {
  let b: Uint8Array;
  try {
    b = new Uint8Array(encodeMessage(g.msg));
  } catch {
    return undefined;
  }
  if (!g.corrupt) return { kind: g.kind, bytes: b };
  const out = g.corrupt.apply(b);
  return out.length >= 8 ? { kind: g.kind, bytes: setLength(out), corruption: g.corrupt.name } : undefined;
}

/** The header key of a message: OFPT type, plus the multipart type or experimenter id and type where those decide it. */
function headerKey(b: Uint8Array): string | undefined {
  if (b.length < 8) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const t = b[1]!;
  if ((t === 18 || t === 19) && b.length >= 10) return `${t}/${dv.getUint16(8)}`;
  if (t === 4 && b.length >= 16) return `4/${dv.getUint32(8)}/${dv.getUint32(12)}`;
  return `${t}`;
}

let kindsByKey: Map<string, MessageType> | undefined;

/** The message type the bytes' header names (whatever they were generated as), or undefined. */
export function kindOfBytes(b: Uint8Array): MessageType | undefined {
  if (!kindsByKey) {
    kindsByKey = new Map();
    for (const k of MESSAGE_KINDS) {
      const [m] = fc.sample(MESSAGE_ARBS[k], { seed: 1, numRuns: 1 });
      const key = headerKey(new Uint8Array(encodeMessage(m!)));
      if (key && k !== 'experimenter') kindsByKey.set(key, k);
    }
  }
  const key = headerKey(b);
  if (key === undefined) return undefined;
  if (key.startsWith('4/')) return kindsByKey.get(key) ?? 'experimenter';
  if (key.startsWith('18/') || key.startsWith('19/')) return kindsByKey.get(key) ?? (key.startsWith('18/65535') ? 'experimenter_stats_request' : key.startsWith('19/65535') ? 'experimenter_stats_reply' : undefined);
  return kindsByKey.get(key);
}
