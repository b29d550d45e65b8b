// Actions validated as Open vSwitch validates them while it decodes them (lib/ofp-actions.c: ofpact_decode_raw,
// ofpact_pull_raw, the decode_* functions, ofpacts_verify): which actions exist in OpenFlow 1.3 (OFPBAC_BAD_TYPE,
// BAD_VENDOR, BAD_VENDOR_TYPE), their arguments (OFPBAC_BAD_ARGUMENT, NXBRC_MUST_BE_ZERO, NXBAC_BAD_CONJUNCTION),
// the fields they read and write (BAD_SET_TYPE / BAD_SET_LEN / BAD_SET_ARGUMENT, and OFPBMC_* for the OXM headers
// OVS reads with nx_pull_header), and where an action may stand (conjunction only with notes, nat and ct_mark /
// ct_label only inside ct, the actions an action set may hold). The decoders in actions-*.ts only parse; the
// registry (actions.ts) calls checkAction right after each action is parsed, so the first fault in OVS's order is
// the one named. Checks against a flow's match (ofpacts_check) are in action-match-check.ts.
import { NX_VENDOR_ID, OFPBAC, OFPBMC, OFPET, OFPP, ONF_EXPERIMENTER_ID } from './consts.js';
import { CodecError } from './errors.js';
import { FIELDS, OFPXMC, fieldByHeader, type FieldInfo } from './oxm-fields.js';
import type { Reader } from './reader.js';
import type { Action, FieldRef, OxmField } from './types.js';

/** Nicira experimenter error codes (OFPET_EXPERIMENTER, experimenter NX_VENDOR_ID). */
export const NXERR = { MUST_BE_ZERO: 4, BAD_CONJUNCTION: 15 } as const;
/** ONF experimenter error codes OVS sends in OpenFlow 1.3. */
export const ONFERR = { DUP_INST: 2600, BAD_SET_MASK: 4250, BPC_BAD_TYPE: 4440, BPC_BAD_LEN: 4441, BPC_BAD_EXP_TYPE: 4446 } as const;

export const bacError = (msg: string, code: number, at?: number): CodecError => new CodecError(msg, OFPET.BAD_ACTION, code, at);
export const nxError = (msg: string, code: number, at?: number): CodecError => new CodecError(msg, OFPET.EXPERIMENTER, code, at, NX_VENDOR_ID);
export const onfError = (msg: string, code: number, at?: number): CodecError => new CodecError(msg, OFPET.EXPERIMENTER, code, at, ONF_EXPERIMENTER_ID);
const bmcError = (msg: string, code: number, at?: number): CodecError => new CodecError(msg, OFPET.BAD_MATCH, code, at);

// ---- which actions exist -------------------------------------------------------------------------------------------

/**
 * OpenFlow 1.3 action types OVS decodes (enum ofp_raw_action_type): output, the deprecated OF1.1 set actions
 * (1..10, 13, 14), then 15..25. copy_ttl_out/in (11, 12) and push/pop_pbb (26, 27) are OFPBAC_BAD_TYPE in OVS.
 */
export function ovsKnowsStandardAction(type: number): boolean {
  return type <= 10 || (type >= 13 && type <= 25);
}

/**
 * Nicira subtypes OVS 3.1 decodes in OpenFlow 1.3. The OpenFlow 1.0 stand-ins for standard actions (set_queue 4,
 * dec_ttl 18, the MPLS ones 23..26, 30, 31, group 40) are not among them; 254 and 255 only with --enable-dummy.
 */
const OVS_NX_SUBTYPES = new Set([1, 2, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 27, 28, 29, 32, 33, 34, 35, 36, 37, 38, 39, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 254, 255]);
/** debug_recirc and debug_slow: known, length-checked, then refused (OVS needs --enable-dummy for them). */
export const NX_DEBUG_SUBTYPES: ReadonlySet<number> = new Set([254, 255]);
/** ONF subtypes OVS decodes in OpenFlow 1.3: copy_field. */
const OVS_ONF_SUBTYPES = new Set([3200]);

/** Lengths (min, max) of the Nicira actions OVS knows and the codec keeps raw (set_tunnel, bundle, encap, ...). */
const RAW_NX_LENGTHS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [2, [16, 16]], [5, [16, 16]], [9, [24, 24]], [12, [32, 0xfff8]], [13, [32, 0xfff8]], [22, [32, 32]], [27, [24, 24]], [28, [24, 24]],
  [39, [16, 16]], [45, [40, 0xfff8]], [46, [16, 0xfff8]], [47, [16, 0xfff8]], [48, [16, 16]], [50, [24, 24]], [254, [16, 16]], [255, [16, 16]],
] as const);

/** The length bounds OVS gives an extension the codec keeps raw. */
export const rawActionLengths = (subtype: number): readonly [number, number] => RAW_NX_LENGTHS.get(subtype) ?? [16, 0xfff8];

/** OVS_NX_SUBTYPES as a table (1: known), for the lookup every Nicira action makes. */
const NX_KNOWN = new Uint8Array(256);
for (const t of OVS_NX_SUBTYPES) NX_KNOWN[t] = 1;

export function ovsKnowsExperimenterAction(experimenter: number, subtype: number): boolean {
  return experimenter === NX_VENDOR_ID ? subtype < 256 && NX_KNOWN[subtype] === 1 : experimenter === ONF_EXPERIMENTER_ID && OVS_ONF_SUBTYPES.has(subtype);
}

// ---- fields named in actions ---------------------------------------------------------------------------------------

/** Registry fields Open vSwitch 3.1 does not implement. */
const NOT_IN_OVS = new Set(['in_phy_port', 'pbb_isid', 'ipv6_exthdr']);
/** Fields OVS will not let an action write (mf_field.writable false). */
const READ_ONLY = new Set([
  'packet_type', 'dp_hash', 'recirc_id', 'conj_id', 'actset_output', 'eth_type', 'mpls_bos', 'ip_frag', 'nw_proto', 'tcp_flags', 'tun_gtpu_flags', 'tun_gtpu_msgtype',
  'nsh_mdtype', 'nsh_np', 'ct_state', 'ct_zone', 'ct_nw_src', 'ct_ipv6_src', 'ct_nw_dst', 'ct_ipv6_dst', 'ct_nw_proto', 'ct_tp_src', 'ct_tp_dst',
]);

/** Per registry field (by rank), computed once: bit 0 not in OVS, bit 1 read-only, bits 2.. how its value is checked. */
const FLAGS = new Uint8Array(FIELDS.length);
const VALUE_KIND: Readonly<Record<string, number>> = { in_port: 1, actset_output: 2, nw_tos: 3, arp_op: 4, nsh_ttl: 5, nsh_mdtype: 6 };
const BITS_CHECKED = new Set(['ip_dscp', 'nw_ecn', 'ip_frag', 'tcp_flags', 'vlan_vid', 'vlan_pcp', 'ipv6_label', 'mpls_label', 'mpls_tc', 'mpls_bos', 'tun_flags', 'ct_state', 'nsh_spi']);
for (const f of FIELDS) {
  const kind = VALUE_KIND[f.ovsName] ?? (BITS_CHECKED.has(f.ovsName) ? 7 : 0);
  FLAGS[f.rank] = (NOT_IN_OVS.has(f.ovsName) ? 1 : 0) | (READ_ONLY.has(f.ovsName) ? 2 : 0) | (kind << 2);
}
const notInOvs = (info: FieldInfo): boolean => info.rank >= 0 && (FLAGS[info.rank]! & 1) !== 0;

export const isWritable = (info: FieldInfo): boolean => (info.rank >= 0 ? (FLAGS[info.rank]! & 2) === 0 : true);

/**
 * tun_metadata0..63 (NXM_1 fields 40..103): OVS knows them at any length up to 124 bytes (variable_len) and, with no
 * TLV map, as 124 bytes wide; the registry does not list them, so they get a stand-in here.
 */
const tunMetadata = new Map<number, FieldInfo>();
function tunMetadataField(header: number): FieldInfo | undefined {
  if (header >>> 16 !== OFPXMC.NXM_1) return undefined;
  const field = (header >>> 9) & 0x7f;
  if (field < 40 || field > 103) return undefined;
  let info = tunMetadata.get(field);
  if (!info) {
    const name = `tun_metadata${field - 40}`;
    const h = ((OFPXMC.NXM_1 << 16) | (field << 9) | 124) >>> 0;
    info = { name, ovsName: name, oxmClass: OFPXMC.NXM_1, oxmField: field, length: 124, nBits: 992, maskable: true, kind: 'uint', format: 'hex', aliases: [], header: h, maskedHeader: (h | 0x100) >>> 0, rank: -1 };
    tunMetadata.set(field, info);
  }
  return info;
}

/** The field a 32-bit header names as OVS's mf_from_nxm_header reads it: the length must be the field's. */
export function field32(header: number): FieldInfo | undefined {
  if (header >>> 16 === OFPXMC.EXPERIMENTER) return undefined;
  const exact = header & 0x100 ? (header & ~0x1ff) | ((header & 0xff) >>> 1) : header;
  const tm = tunMetadataField(exact);
  if (tm) return (exact & 0xff) > 0 && (exact & 0xff) <= 124 ? tm : undefined;
  const info = fieldByHeader(exact);
  return info && info.header === exact && !notInOvs(info) ? info : undefined;
}

/** The field of a FieldRef as OVS looks it up (length included), or undefined. */
export function refField(ref: FieldRef): FieldInfo | undefined {
  if (ref.header >>> 16 !== OFPXMC.EXPERIMENTER) return field32(ref.header);
  const info = fieldByHeader(ref.header, ref.experimenter);
  return info && info.header === ref.header && !notInOvs(info) ? info : undefined;
}

/**
 * nx_pull_header for a FieldRef read from an action (reg_move, copy_field, output_reg2, check_pkt_larger): unknown
 * fields are OFPBMC_BAD_FIELD, an experimenter header too short for its id OFPBMC_BAD_LEN, a masked one BAD_MASK.
 */
export function pulledField(ref: FieldRef, what: string, at?: number): FieldInfo {
  const exp = ref.header >>> 16 === OFPXMC.EXPERIMENTER;
  if (exp && (ref.header & 0xff) < 4) throw bmcError(`${what}: experimenter header with length ${ref.header & 0xff}`, OFPBMC.BAD_LEN, at);
  const exact = ref.header & 0x100 ? (ref.header & ~0x1ff) | (exp ? 4 + (((ref.header & 0xff) - 4) >>> 1) : (ref.header & 0xff) >>> 1) : ref.header;
  const info = exp ? fieldByHeader(exact, ref.experimenter) : (field32(exact) ?? fieldByHeader(exact));
  if (!info || (info.header !== exact && info.rank >= 0) || notInOvs(info)) throw bmcError(`${what}: unknown field 0x${(ref.header >>> 0).toString(16).padStart(8, '0')}`, OFPBMC.BAD_FIELD, at);
  if (ref.header & 0x100) throw bmcError(`${what}: a masked field header`, OFPBMC.BAD_MASK, at);
  return info;
}

/** mf_check_src / mf_check_dst without a match: the bit range must lie in the field; a destination must be writable. */
export function checkSubfield(info: FieldInfo, ofs: number, nBits: number, dst: boolean, what: string): void {
  const width = subfieldWidth(info);
  if (nBits === 0 || ofs >= width || ofs + nBits > width) {
    throw bacError(`${what}: bits ${ofs}..${ofs + nBits - 1} do not lie in the ${width}-bit field ${info.ovsName}`, OFPBAC.BAD_SET_LEN);
  }
  if (dst && !isWritable(info)) throw bacError(`${what}: ${info.ovsName} is read-only`, OFPBAC.BAD_SET_ARGUMENT);
}

/**
 * mf_field.n_bits: the registry's width, except ct_state, whose 32 bits an action may address (values use 8), and
 * vlan_vid, whose OFPVID_PRESENT bit an action may not.
 */
const subfieldWidth = (info: FieldInfo): number => (info.ovsName === 'ct_state' ? 32 : info.ovsName === 'vlan_vid' ? 12 : info.nBits);

/** A field named by a 32-bit header in reg_load, output_reg, multipath, ct's zone: unknown is OFPBAC_BAD_SET_TYPE. */
function header32Field(ref: FieldRef, what: string): FieldInfo {
  const info = field32(ref.header);
  if (!info) throw bacError(`${what}: unknown field 0x${(ref.header >>> 0).toString(16).padStart(8, '0')}`, OFPBAC.BAD_SET_TYPE);
  return info;
}

const port32Ok = (v: Uint8Array): boolean => {
  const p = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
  return p < 0xff00 || p >= OFPP.MAX;
};

/** mf_is_value_valid: the values a field may take. */
function valueValid(info: FieldInfo, value: Uint8Array): boolean {
  if (info.rank < 0) return true;
  switch (FLAGS[info.rank]! >> 2) {
    case 1:
      return info.length !== 4 || port32Ok(value);
    case 2:
      return port32Ok(value);
    case 3:
      return (value[0]! & 3) === 0;
    case 4:
      return value[0] === 0;
    case 5:
      return value[0]! <= 63;
    case 6:
      return value[0] === 1 || value[0] === 2;
    case 7: {
      let excess = value.length * 8 - info.nBits;
      for (let i = 0; excess > 0; i++, excess -= 8) if (value[i]! & (excess >= 8 ? 0xff : (0xff00 >> excess) & 0xff)) return false;
      return true;
    }
    default:
      return true;
  }
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Per registry field (by rank): 1 when an unmasked set_field or reg_load2 of it at its length needs no check beyond
 * the bytes after it: in OVS, writable, no value check, not in_port (which set_field may not write) nor vlan_vid.
 * tun_metadata (NXM_1 40..103) is not in the registry, so its headers never find such a field.
 */
const FAST_SET = new Uint8Array(FIELDS.length);
for (const f of FIELDS) {
  const tunMetadataSlot = f.oxmClass === OFPXMC.NXM_1 && f.oxmField >= 40 && f.oxmField <= 103;
  FAST_SET[f.rank] = FLAGS[f.rank] === 0 && f.ovsName !== 'in_port' && f.ovsName !== 'vlan_vid' && f.experimenter === undefined && !tunMetadataSlot ? 1 : 0;
}

const partialOxm = (start: number, end: number): CodecError => bmcError(`set_field: a partial OXM entry (${end - start} bytes)`, OFPBMC.BAD_LEN, start);

/**
 * The OXM of a set_field (mayMask false: OpenFlow 1.3) or reg_load2 action, read and checked as OVS's
 * nx_pull_entry(is_action) and decode_ofpat_set_field / decode_NXAST_RAW_REG_LOAD2 do; `r` is bounded to the action
 * and positioned at the OXM. The rest of the action must be zeros.
 */
export function pullSetFieldOxm(r: Reader, setField: boolean): OxmField {
  const b = r.buf;
  const start = r.pos;
  const end = r.end;
  if (start + 4 > end) throw partialOxm(start, end);
  const header = ((b[start]! << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0;
  // The usual case (what the controller sends): an unmasked OXM or NXM field OVS knows at its length, writable, whose
  // values need no check, the rest of the action zeros. Anything else, faults included, takes the full reading below.
  const cls = header >>> 16;
  if ((header & 0x100) === 0 && (cls === OFPXMC.OPENFLOW_BASIC || cls === OFPXMC.NXM_0 || cls === OFPXMC.NXM_1)) {
    const info = fieldByHeader(header);
    const length = header & 0xff;
    const p = start + 4;
    if (info !== undefined && info.header === header && FAST_SET[info.rank] === 1 && p + length <= end && allZero(b, p + length, end)) {
      r.pos = end;
      return { field: info.name, value: new Uint8Array(b.buffer, b.byteOffset + p, length) };
    }
  }
  return pullSetFieldOxmFully(r, setField, b, start, end, header);
}

/** pullSetFieldOxm for every OXM: each of OVS's checks, in its order. */
function pullSetFieldOxmFully(r: Reader, setField: boolean, b: Uint8Array, start: number, end: number, header: number): OxmField {
  const exp = header >>> 16 === OFPXMC.EXPERIMENTER;
  let experimenter: number | undefined;
  if (exp) {
    if (start + 8 > end) throw partialOxm(start, end);
    experimenter = ((b[start + 4]! << 24) | (b[start + 5]! << 16) | (b[start + 6]! << 8) | b[start + 7]!) >>> 0;
  }
  const length = header & 0xff;
  if (exp && length < 4) throw bmcError(`set_field: OXM experimenter header with length ${length}`, OFPBMC.BAD_LEN, start);
  const hasMask = (header & 0x100) !== 0;
  const payload = length - (exp ? 4 : 0);
  const width = hasMask ? payload >>> 1 : payload;
  // nxm_field_by_header(is_action): a header that names no field OVS knows with its length is BAD_SET_LEN, unless
  // its (unmasked) length is 0: BAD_SET_TYPE.
  const noLen = (header & ~0x1ff) >>> 0;
  const tm = exp ? undefined : tunMetadataField(noLen);
  const info = tm ?? (exp ? fieldByHeader(noLen, experimenter) : fieldByHeader(noLen));
  const known = info !== undefined && !notInOvs(info);
  if (!known || (tm ? width === 0 || width > 124 : width !== info.length)) {
    const what = `set_field: OXM 0x${header.toString(16).padStart(8, '0')}`;
    if ((exp ? width + 4 : width) > 0) throw bacError(`${what} names no field Open vSwitch knows with that length`, OFPBAC.BAD_SET_LEN, start);
    throw bacError(`${what} is not a field Open vSwitch can set`, OFPBAC.BAD_SET_TYPE, start);
  }
  const p = start + 4 + (exp ? 4 : 0);
  if (p + payload > end) throw bmcError(`set_field: OXM ${info.ovsName} needs ${payload} bytes, ${end - p} left`, OFPBMC.BAD_LEN, start);
  // Plain Uint8Array views: Buffer#subarray (buf is often a Buffer) goes through the species constructor (reader.ts).
  const value = new Uint8Array(b.buffer, b.byteOffset + p, width);
  const mask = hasMask ? new Uint8Array(b.buffer, b.byteOffset + p + width, width) : undefined;
  if (mask) for (let i = 0; i < width; i++) if (value[i]! & ~mask[i]!) throw bmcError(`set_field: ${info.ovsName} value has bits outside its mask`, OFPBMC.BAD_WILDCARDS, start);
  if (mask && setField) throw onfError(`set_field: ${info.ovsName} with a mask (OpenFlow 1.3 set_field takes none)`, ONFERR.BAD_SET_MASK, start);
  r.pos = p + payload;
  if (!allZero(b, r.pos, end)) throw bacError(`${setField ? 'set_field' : 'reg_load2'}: nonzero bytes after the OXM`, OFPBAC.BAD_SET_ARGUMENT, r.pos);
  r.pos = end;
  if (setField && info.ovsName === 'in_port' && info.length === 4) throw bacError('set_field: OpenFlow forbids setting in_port', OFPBAC.BAD_SET_ARGUMENT, start);
  if (!isWritable(info)) throw bacError(`${setField ? 'set_field' : 'reg_load2'}: ${info.ovsName} is read-only`, OFPBAC.BAD_SET_ARGUMENT, start);
  if (setField && (!valueValid(info, value) || (info.ovsName === 'vlan_vid' && (value[0]! & 0x10) === 0))) {
    throw bacError(`set_field: ${info.ovsName} cannot take the value 0x${Buffer.from(value).toString('hex')}`, OFPBAC.BAD_SET_ARGUMENT, start);
  }
  const v = value;
  // tun_metadata is not in the registry: kept under its header, as decodeOxm keeps it.
  if (tm) return mask === undefined ? { field: 'unknown', value: v, header } : { field: 'unknown', value: v, header, mask };
  if (mask === undefined) return { field: info.name, value: v };
  return { field: info.name, value: v, mask };
}

// ---- arguments, action by action (the decode_* checks) ------------------------------------------------------------

const ETH_TYPE_VLAN = new Set([0x8100, 0x88a8]);
const ETH_TYPE_MPLS = new Set([0x8847, 0x8848]);
const CT_F_COMMIT = 1;
const CT_F_FORCE = 2;
const NAT_F = { SRC: 1, DST: 2, HASH: 8, RANDOM: 16, MASK: 0x1f } as const;

/** ofpact_check_output_port(port, OFPP_MAX) for a 32-bit port (already refused where it cannot map). */
function checkOutputPort(port: number, what: string, at?: number): void {
  if (port === OFPP.ANY || (port >= OFPP.MAX && port < 0xfffffff8)) throw bacError(`${what}: cannot output to port 0x${port.toString(16)}`, OFPBAC.BAD_OUT_PORT, at);
}

const u16 = (b: Uint8Array, p: number): number => (b[p]! << 8) | b[p + 1]!;

/** ct's head, before its inner actions are read: force needs commit; a zone field must be a known 16-bit source. */
export function checkCtHead(flags: number, zoneSrc: FieldRef | undefined, zoneOfs: number, zoneNBits: number): void {
  if (flags & CT_F_FORCE && !(flags & CT_F_COMMIT)) throw bacError('ct: force without commit', OFPBAC.BAD_ARGUMENT);
  if (!zoneSrc) return;
  const info = header32Field(zoneSrc, 'ct zone');
  checkSubfield(info, zoneOfs, zoneNBits, false, 'ct zone');
  if (zoneNBits !== 16) throw bacError(`ct: zone of ${zoneNBits} bits (must be 16)`, OFPBAC.BAD_SET_LEN);
}

/**
 * The checks OVS makes on one decoded action. `b` holds the action's bytes at [start, start + len). Inner action
 * lists (clone, ct) were decoded and checked by their own verifyActions already.
 */
export function checkAction(a: Action, b: Uint8Array, start: number, len: number): void {
  switch (a.type) {
    case 'output':
      return checkOutputPort(a.port, 'output', start + 4);
    case 'push_vlan':
      if (!ETH_TYPE_VLAN.has(a.ethertype)) throw bacError(`push_vlan: ethertype 0x${a.ethertype.toString(16)} is not a VLAN ethertype`, OFPBAC.BAD_ARGUMENT, start);
      return;
    case 'push_mpls':
      if (!ETH_TYPE_MPLS.has(a.ethertype)) throw bacError(`push_mpls: ethertype 0x${a.ethertype.toString(16)} is not an MPLS ethertype`, OFPBAC.BAD_ARGUMENT, start);
      return;
    case 'nx_resubmit':
      if (a.table !== undefined && !allZero(b, start + 13, start + 16)) throw bacError('resubmit: nonzero padding', OFPBAC.BAD_ARGUMENT, start + 13);
      return;
    case 'nx_reg_move':
    case 'onf_copy_field': {
      const mv = a.type === 'nx_reg_move' ? { n: a.nBits, so: a.srcOfs, d: a.dstOfs } : { n: a.nBits, so: a.srcOffset, d: a.dstOffset };
      const what = a.type === 'nx_reg_move' ? 'move' : 'copy_field';
      const src = pulledField(a.src, `${what} src`, start);
      const dst = pulledField(a.dst, `${what} dst`, start);
      const refsEnd = start + (a.type === 'nx_reg_move' ? 16 : 20) + refLen(a.src) + refLen(a.dst);
      if (!allZero(b, refsEnd, start + len)) throw nxError(`${what}: nonzero padding`, NXERR.MUST_BE_ZERO, refsEnd);
      checkSubfield(src, mv.so, mv.n, false, `${what} src`);
      checkSubfield(dst, mv.d, mv.n, true, `${what} dst`);
      return;
    }
    case 'nx_reg_load': {
      const dst = header32Field(a.dst, 'load');
      checkSubfield(dst, a.ofs, a.nBits, true, 'load');
      if (a.nBits < 64 && a.value >> BigInt(a.nBits) !== 0n) throw bacError(`load: value 0x${a.value.toString(16)} wider than ${a.nBits} bits`, OFPBAC.BAD_ARGUMENT, start);
      return;
    }
    case 'nx_conjunction':
      if (a.nClauses < 2 || a.nClauses > 64 || a.clause >= a.nClauses) throw nxError(`conjunction: clause ${a.clause + 1} of ${a.nClauses}`, NXERR.BAD_CONJUNCTION, start);
      return;
    case 'nx_dec_ttl':
      if (a.controllerIds) {
        if (!allZero(b, start + 12, start + 16)) throw nxError('dec_ttl: nonzero padding', NXERR.MUST_BE_ZERO, start + 12);
        if (len - 16 < 2 * u16(b, start + 10)) throw bacError(`dec_ttl: ${u16(b, start + 10)} controller ids do not fit`, OFPBAC.BAD_LEN, start);
      }
      return;
    case 'nx_controller2':
      if (!allZero(b, start + 10, start + 16)) throw nxError('controller: nonzero padding', NXERR.MUST_BE_ZERO, start + 10);
      return;
    case 'nx_output_reg': {
      if (!allZero(b, start + 18, start + 24)) throw bacError('output_reg: nonzero padding', OFPBAC.BAD_ARGUMENT, start + 18);
      checkSubfield(header32Field(a.src, 'output_reg'), a.ofs, a.nBits, false, 'output_reg');
      return;
    }
    case 'nx_output_reg2': {
      const src = pulledField(a.src, 'output_reg2', start);
      const end = start + 14 + refLen(a.src);
      if (!allZero(b, end, start + len)) throw nxError('output_reg2: nonzero padding', NXERR.MUST_BE_ZERO, end);
      checkSubfield(src, a.ofs, a.nBits, false, 'output_reg2');
      return;
    }
    case 'nx_check_pkt_larger': {
      const dst = pulledField(a.dst, 'check_pkt_larger', start);
      const end = start + 14 + refLen(a.dst);
      if (!allZero(b, end, start + len)) throw nxError('check_pkt_larger: nonzero padding', NXERR.MUST_BE_ZERO, end);
      checkSubfield(dst, a.ofs, 1, true, 'check_pkt_larger');
      return;
    }
    case 'nx_multipath': {
      const dst = header32Field(a.dst, 'multipath');
      if (a.fields > 6) throw bacError(`multipath: unknown hash fields ${a.fields}`, OFPBAC.BAD_ARGUMENT, start);
      if (a.algorithm > 3) throw bacError(`multipath: unknown algorithm ${a.algorithm}`, OFPBAC.BAD_ARGUMENT, start);
      const links = a.maxLink + 1;
      if (a.nBits < Math.ceil(Math.log2(links))) throw bacError(`multipath: ${a.nBits} bits cannot hold ${links} links`, OFPBAC.BAD_ARGUMENT, start);
      checkSubfield(dst, a.ofs, a.nBits, true, 'multipath');
      return;
    }
    case 'nx_sample':
      if (a.version === 3) {
        if (!allZero(b, start + 27, start + 32)) throw nxError('sample: nonzero padding', NXERR.MUST_BE_ZERO, start + 27);
        if ((a.direction ?? 0) > 2) throw bacError(`sample: direction ${a.direction}`, OFPBAC.BAD_ARGUMENT, start);
      }
      if (a.probability === 0) throw bacError('sample: probability 0', OFPBAC.BAD_ARGUMENT, start);
      return;
    case 'nx_clone':
      return verifyActions(a.actions, false);
    case 'nx_ct':
      verifyActions(a.actions, true);
      return checkCtActions(a.flags, a.actions);
    case 'nx_nat':
      return checkNat(a, start, len);
    case 'nx_learn':
      return checkLearn(a, b, start, len);
    default:
      return;
  }
}

const refLen = (f: FieldRef): number => (f.header >>> 16 === OFPXMC.EXPERIMENTER ? 8 : 4);

/** decode_NXAST_RAW_CT after the inner actions: without commit, only nat with no flags and no range may be inside. */
function checkCtActions(flags: number, actions: readonly Action[]): void {
  if (flags & CT_F_COMMIT) return;
  for (const x of actions) {
    if (x.type !== 'nx_nat' || x.flags !== 0 || x.rangePresent & 0xf) throw bacError('ct: actions other than nat without arguments need commit', OFPBAC.BAD_ARGUMENT);
  }
}

function checkNat(a: Extract<Action, { type: 'nx_nat' }>, start: number, len: number): void {
  const bad = (why: string): CodecError => bacError(`nat: ${why}`, OFPBAC.BAD_ARGUMENT, start);
  const f = a.flags;
  if (f & ~NAT_F.MASK || (f & NAT_F.SRC && f & NAT_F.DST) || (f & NAT_F.HASH && f & NAT_F.RANDOM)) throw bad(`flags 0x${f.toString(16)}`);
  const p = a.rangePresent;
  let room = len - 16;
  const take = (n: number): boolean => (room >= n ? ((room -= n), true) : false);
  let af = 0;
  if (p & 1) {
    if (p & 0xc) throw bad('both IPv4 and IPv6 ranges');
    if (!take(4) || !a.ipv4Min) throw bad('no IPv4 minimum');
    af = 4;
    if (p & 2) {
      if (!take(4)) throw bad('no room for the IPv4 maximum');
      if ((a.ipv4Max ?? 0) < a.ipv4Min) throw bad('IPv4 maximum below minimum');
    }
  } else if (p & 2) {
    throw bad('IPv4 maximum without minimum');
  } else if (p & 4) {
    if (!take(16) || !a.ipv6Min || a.ipv6Min.every((x) => x === 0)) throw bad('no IPv6 minimum');
    af = 6;
    if (p & 8) {
      if (!take(16)) throw bad('no room for the IPv6 maximum');
      if (Buffer.compare(Buffer.from(a.ipv6Max ?? new Uint8Array(16)), Buffer.from(a.ipv6Min)) < 0) throw bad('IPv6 maximum below minimum');
    }
  } else if (p & 8) {
    throw bad('IPv6 maximum without minimum');
  }
  if (p & 16) {
    if (af === 0) throw bad('a port range without addresses');
    if (!take(2) || !a.protoMin) throw bad('no port minimum');
    if (p & 32) {
      if (!take(2)) throw bad('no room for the port maximum');
      if ((a.protoMax ?? 0) < a.protoMin) throw bad('port maximum below minimum');
    }
  } else if (p & 32) {
    throw bad('port maximum without minimum');
  }
}

/** decode_NXAST_RAW_LEARN: pad, table, flags, then each flow_mod_spec (types, room, fields). */
function checkLearn(a: Extract<Action, { type: 'nx_learn' }>, b: Uint8Array, start: number, len: number): void {
  if (b[start + 27] !== 0) throw bacError('learn: nonzero padding', OFPBAC.BAD_ARGUMENT, start + 27);
  if (a.tableId === 0xff) throw bacError('learn: table 255', OFPBAC.BAD_ARGUMENT, start);
  if (a.flags & ~3) throw bacError(`learn: flags 0x${a.flags.toString(16)}`, OFPBAC.BAD_ARGUMENT, start);
  const end = start + len;
  let p = start + 32;
  while (p < end) {
    const h = u16(b, p);
    p += 2;
    if (h === 0) break;
    const nBits = h & 0x3ff;
    const src = h & (1 << 13);
    const dst = h & (3 << 11);
    if (!(dst === 0 || dst === 1 << 11 || (dst === 2 << 11 && src === 0))) throw bacError('learn: bad spec type', OFPBAC.BAD_ARGUMENT, p - 2);
    const min = (src === 0 ? 6 : 2 * Math.ceil(nBits / 16)) + (dst === 0 || dst === 1 << 11 ? 6 : 0);
    if (end - p < min) throw bacError('learn: spec overruns the action', OFPBAC.BAD_LEN, p - 2);
    if (src === 0) {
      if (!field32(u32(b, p))) throw bacError('learn: unknown source field', OFPBAC.BAD_SET_TYPE, p);
      p += 6;
    } else p += 2 * Math.ceil(nBits / 16);
    if (dst === 0 || dst === 1 << 11) {
      if (!field32(u32(b, p))) throw bacError('learn: unknown destination field', OFPBAC.BAD_SET_TYPE, p);
      p += 6;
    }
  }
  if (!allZero(b, p, end)) throw bacError('learn: nonzero bytes after the specs', OFPBAC.BAD_ARGUMENT, p);
}

const u32 = (b: Uint8Array, p: number): number => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

// ---- where actions may stand (ofpacts_verify, the action set) -----------------------------------------------------

/** The registry names of ct_mark and ct_label: the fields only ct may set. */
const CT_MARK = FIELDS.find((f) => f.ovsName === 'ct_mark')!.name;
const CT_LABEL = FIELDS.find((f) => f.ovsName === 'ct_label')!.name;
if (FIELDS.filter((f) => f.ovsName === 'ct_mark' || f.ovsName === 'ct_label').length !== 2) throw new Error('action-check: one code point each for ct_mark and ct_label');

/** Whether an action writes ct_mark or ct_label (ofpact_get_mf_dst, field_requires_ct); undefined: it writes no field. */
function writesCtField(a: Action): boolean | undefined {
  switch (a.type) {
    case 'set_field':
    case 'nx_reg_load2': {
      const f = a.field.field;
      return f === CT_MARK || f === CT_LABEL;
    }
    case 'nx_reg_load': {
      const o = field32(a.dst.header)?.ovsName;
      return o === 'ct_mark' || o === 'ct_label';
    }
    case 'nx_reg_move':
    case 'onf_copy_field': {
      const o = refField(a.dst)?.ovsName;
      return o === 'ct_mark' || o === 'ct_label';
    }
    default:
      return undefined;
  }
}

/**
 * ofpacts_verify for one action list (`inCt`: the list inside ct, else a top-level list, a clone's, a bucket's):
 * a conjunction makes every other action but note NXBAC_BAD_CONJUNCTION; nat and writes to ct_mark / ct_label
 * stand only inside ct (BAD_SET_ARGUMENT); inside ct only those (BAD_ARGUMENT). `others` counts the flow's
 * instructions other than apply_actions (meter, clear, write_actions, ...), which a conjunction forbids too.
 */
export function verifyActions(actions: readonly Action[], inCt: boolean, others = 0): void {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    const t = a.type;
    if (t === 'output' || t === 'nx_resubmit' || t === 'group') {
      if (inCt) throw bacError(`ct does not take ${t} inside`, OFPBAC.BAD_ARGUMENT);
      continue;
    }
    if (t === 'nx_conjunction') {
      if (others > 0) throw nxError('conjunction may stand only with notes, not with other instructions', NXERR.BAD_CONJUNCTION);
      for (const x of actions) {
        if (x.type !== 'nx_conjunction' && x.type !== 'nx_note') throw nxError(`conjunction may stand only with notes, not with ${x.type}`, NXERR.BAD_CONJUNCTION);
      }
      return;
    }
    const ct = writesCtField(a);
    if (ct && !inCt) throw bacError('ct_mark and ct_label can be set only inside ct', OFPBAC.BAD_SET_ARGUMENT);
    if (t === 'nx_nat') {
      if (!inCt) throw bacError('nat stands only inside ct', OFPBAC.BAD_SET_ARGUMENT);
      continue;
    }
    if (inCt) {
      if (ct === undefined) throw bacError(`ct does not take ${t} inside`, OFPBAC.BAD_ARGUMENT);
      if (!ct) throw bacError('ct sets only ct_mark and ct_label inside', OFPBAC.BAD_ARGUMENT);
    }
  }
}

/** Actions an action set (write_actions) may hold (action_set_classify not ACTION_SLOT_INVALID). */
const ACTION_SET = new Set<Action['type']>([
  'pop_vlan', 'pop_mpls', 'push_mpls', 'push_vlan', 'dec_nw_ttl', 'nx_dec_ttl', 'dec_mpls_ttl', 'nx_ct', 'nx_ct_clear', 'nx_resubmit', 'output', 'group',
  'set_field', 'nx_reg_load', 'nx_reg_load2', 'nx_reg_move', 'onf_copy_field', 'set_queue', 'set_mpls_ttl', 'set_nw_ttl',
]);

/** ofpacts_decode_for_action_set: an action an action set cannot hold is OFPBAC_BAD_TYPE. */
export function checkActionSet(actions: readonly Action[]): void {
  for (const a of actions) if (!ACTION_SET.has(a.type)) throw bacError(`write_actions cannot hold ${a.type}`, OFPBAC.BAD_TYPE);
}

/**
 * The OpenFlow 1.1 set actions OVS still decodes in 1.3 (set_vlan_vid 1 .. set_tp_dst 10, set_mpls_label 13,
 * set_mpls_tc 14), which the codec does not model: OVS's length and argument checks, so that a malformed one gets
 * OVS's error; a well-formed one the caller refuses as unknown (OVS would print it: a documented gap).
 */
export function checkDeprecatedAction(r: Reader, start: number, type: number, len: number): void {
  const size = type === 3 || type === 4 ? 16 : 8;
  if (len > r.remaining || len !== size) throw bacError(`action type ${type}: length ${len}, OVS takes ${size}`, OFPBAC.BAD_LEN, start);
  const b = r.buf;
  const arg8 = b[start + 4]!;
  const bad = (type === 1 && u16(b, start + 4) & ~0xfff) || (type === 2 && arg8 & ~7) || (type === 7 && arg8 & ~0xfc) || (type === 8 && arg8 & ~3);
  if (bad) throw bacError(`action type ${type}: argument out of range`, OFPBAC.BAD_ARGUMENT, start);
}
