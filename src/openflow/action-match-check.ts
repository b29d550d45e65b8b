// A flow's actions checked against its match, as Open vSwitch checks a FLOW_MOD (ofpacts_check_consistency):
// fields an action reads or writes need the match's prerequisites (set_field, load, move, output:reg, multipath,
// ct's zone: OFPBAC_MATCH_INCONSISTENT), ct and nat need IP, a flow may not push a third VLAN tag (BAD_TAG), a meter
// must exist in OpenFlow (OFPMMFC_INVALID_METER), goto_table must go forward (OFPBIC_BAD_TABLE_ID). Actions that
// only make sense on some packets (pop_vlan without a VLAN, dec_ttl without IP, ...) are inconsistent for OpenFlow
// 1.1+, which OVS reports as OFPBAC_MATCH_INCONSISTENT once the whole list passed. The flow state actions change
// (push_mpls sets the ethertype, push_vlan adds a tag) is carried from one action to the next, as OVS does.
import { OFPBAC, OFPBIC, OFPET } from './consts.js';
import { OFPMMFC } from './error-codes.js';
import { CodecError } from './errors.js';
import { field32, refField } from './action-check.js';
import type { MatchedFlow } from './match-check.js';
import { FIELDS, fieldByName, type FieldInfo } from './oxm-fields.js';
import type { Action, Instruction } from './types.js';

/** The parts of OVS's struct flow the checks read (values under the match's masks), changed as actions change them. */
export type FlowState = MatchedFlow;

const VLAN_CFI = 0x1000;
const CS_INVALID = 0x10;
const CS_TRACKED = 0x20;
const CS_VALID = 0xcf;
const ETH_IP = 0x0800;
const ETH_IPV6 = 0x86dd;

const inconsistent = (msg: string): CodecError => new CodecError(`actions inconsistent with the match: ${msg}`, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT);

function uint(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length && i < 4; i++) n = n * 256 + b[i]!;
  return n;
}

/** get_dl_type: the ethertype, from packet_type when that names one. */
function dlType(s: FlowState): number {
  if (s.packetType === 0) return s.dlType;
  return s.packetType >>> 16 === 1 ? s.packetType & 0xffff : 0x5ff;
}

const isIp = (s: FlowState): boolean => {
  const dl = dlType(s);
  return dl === ETH_IP || dl === ETH_IPV6;
};
const isMpls = (dl: number): boolean => dl === 0x8847 || dl === 0x8848;
const ctValid = (s: FlowState): boolean => (s.ctState & CS_VALID) !== 0 || ((s.ctState & CS_TRACKED) !== 0 && (s.ctStateMask & CS_INVALID) !== 0 && (s.ctState & CS_INVALID) === 0);

const ETHERNET_ONLY = new Set(['eth_src', 'eth_dst', 'eth_type', 'vlan_tci', 'vlan_vid']);
const CT_TUPLE = new Set(['ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst', 'ct_nw_proto', 'ct_tp_src', 'ct_tp_dst']);

/** How a field's prerequisites are checked, by rank: none, Ethernet only, a valid connection, NSH, info.prereq. */
const enum Pre {
  NONE,
  ETHERNET,
  CT_VALID,
  NSH,
  PREREQ,
}
const PRE = new Uint8Array(FIELDS.length);
for (const f of FIELDS) {
  const o = f.ovsName;
  PRE[f.rank] = ETHERNET_ONLY.has(o) ? Pre.ETHERNET : CT_TUPLE.has(o) ? Pre.CT_VALID : o.startsWith('nsh_') ? Pre.NSH : f.prereq ? Pre.PREREQ : Pre.NONE;
}

/** mf_are_prereqs_ok: whether the flow state satisfies the field's prerequisites. */
function prereqsOk(info: FieldInfo, s: FlowState): boolean {
  switch (info.rank < 0 ? Pre.NONE : PRE[info.rank]!) {
    case Pre.NONE:
      return true;
    case Pre.ETHERNET:
      return s.packetType === 0;
    case Pre.CT_VALID:
      return ctValid(s);
    case Pre.NSH:
      return dlType(s) === 0x894f;
  }
  const p = info.prereq;
  if (!p) return true;
  if (p.vlan) return (s.tci0 & VLAN_CFI) !== 0;
  const dl = dlType(s);
  if (p.ethTypes && !p.ethTypes.includes(dl)) return false;
  if (p.ipProto !== undefined) {
    if (s.nwProto !== p.ipProto) return false;
    if ((p.ipProto === 6 || p.ipProto === 17 || p.ipProto === 132) && s.nwFrag & 2) return false;
  }
  if (p.icmpv6Types && (!p.icmpv6Types.includes(s.tpSrc) || s.tpDst !== 0)) return false;
  return true;
}

function needPrereqs(info: FieldInfo | undefined, s: FlowState, what: string): void {
  if (info && !prereqsOk(info, s)) throw inconsistent(`${what} ${info.ovsName} lacks its prerequisites`);
}

/** What the checks need besides the flow: the flow's table (goto_table must go past it). */
interface Context {
  readonly tableId: number;
  inconsistent: string | undefined;
}

function checkList(actions: readonly Action[], s: FlowState, c: Context): void {
  for (const a of actions) checkOne(a, s, c);
}

/** check_* for one action (ofpact_check__), updating the flow state as OVS does. */
function checkOne(a: Action, s: FlowState, c: Context): void {
  switch (a.type) {
    case 'set_field':
    case 'nx_reg_load2': {
      const info = fieldByName(a.field.field);
      needPrereqs(info, s, 'set_field');
      if (info?.ovsName === 'vlan_vid' && !(s.tci0 & VLAN_CFI)) throw inconsistent('set_field vlan_vid without a VLAN tag');
      if (info?.ovsName === 'vlan_tci') s.tci0 = uint(a.field.value) & 0xffff;
      return;
    }
    case 'nx_reg_load': {
      const info = field32(a.dst.header);
      needPrereqs(info, s, 'load');
      if (info?.ovsName === 'vlan_vid' && !(s.tci0 & VLAN_CFI)) throw inconsistent('load to vlan_vid without a VLAN tag');
      return;
    }
    case 'nx_reg_move':
    case 'onf_copy_field':
      needPrereqs(refField(a.src), s, 'move source');
      needPrereqs(refField(a.dst), s, 'move destination');
      return;
    case 'nx_output_reg':
      needPrereqs(field32(a.src.header), s, 'output source');
      return;
    case 'nx_output_reg2':
      needPrereqs(refField(a.src), s, 'output source');
      return;
    case 'nx_multipath':
      needPrereqs(field32(a.dst.header), s, 'multipath destination');
      return;
    case 'nx_ct': {
      const dl = dlType(s);
      if (!(dl === ETH_IP || dl === ETH_IPV6)) throw inconsistent('ct needs IP');
      if (s.ctState & CS_INVALID && a.flags & 1) throw inconsistent('ct commit of an invalid connection');
      if ((a.alg === 21 && s.nwProto !== 6) || (a.alg === 69 && s.nwProto !== 17)) throw inconsistent(`ct alg ${a.alg} on the wrong protocol`);
      if (a.zoneSrc) return needPrereqs(field32(a.zoneSrc.header), s, 'ct zone');
      return checkList(a.actions, s, c);
    }
    case 'nx_nat': {
      const dl = dlType(s);
      if (!(dl === ETH_IP || dl === ETH_IPV6) || (a.rangePresent & 3 && dl !== ETH_IP) || (a.rangePresent & 0xc && dl !== ETH_IPV6)) throw inconsistent('nat on the wrong network protocol');
      return;
    }
    case 'nx_resubmit':
      if (a.ct && !ctValid(s)) throw inconsistent('resubmit(,,ct) without a tracked connection');
      return;
    case 'nx_clone':
      return checkList(a.actions, s, c);
    case 'push_vlan':
      if (s.tci1 & VLAN_CFI) throw new CodecError('push_vlan: a third VLAN tag', OFPET.BAD_ACTION, OFPBAC.BAD_TAG);
      s.tci1 = s.tci0;
      s.tci0 |= VLAN_CFI;
      return;
    case 'pop_vlan':
      if (!(s.tci0 & VLAN_CFI)) c.inconsistent ??= 'pop_vlan without a VLAN tag';
      s.tci0 = s.tci1;
      s.tci1 = 0;
      return;
    case 'push_mpls':
      if (s.packetType !== 0) c.inconsistent ??= 'push_mpls on a packet that is not Ethernet';
      s.dlType = a.ethertype;
      s.nwProto = 0;
      return;
    case 'pop_mpls':
      if (s.packetType !== 0 || !isMpls(dlType(s))) c.inconsistent ??= 'pop_mpls without MPLS';
      s.dlType = a.ethertype;
      return;
    case 'set_mpls_ttl':
    case 'dec_mpls_ttl':
      if (!isMpls(dlType(s))) c.inconsistent ??= `${a.type} without MPLS`;
      return;
    case 'set_nw_ttl':
    case 'dec_nw_ttl':
    case 'nx_dec_ttl':
      if (!isIp(s)) c.inconsistent ??= `${a.type} without IP`;
      return;
    case 'nx_fin_timeout':
      if (s.nwProto !== 6) c.inconsistent ??= 'fin_timeout without TCP';
      return;
    default:
      return;
  }
}

/**
 * ofpacts_check_consistency for a FLOW_MOD in table `tableId` (255: all tables) whose match gave `state` (changed
 * as the actions change it): throws the first hard
 * fault, then OFPBAC_MATCH_INCONSISTENT if an action is inconsistent with the match. Instructions are checked in
 * the order OVS holds them (meter, apply, clear, write, metadata, goto); decodeInstructions refused a type twice.
 */
export function checkInstructionsAgainstMatch(instructions: readonly Instruction[], state: FlowState, tableId: number): void {
  const s = state;
  let meter: Extract<Instruction, { type: 'meter' }> | undefined;
  let apply: readonly Action[] | undefined;
  let write: readonly Action[] | undefined;
  let goto: number | undefined;
  for (let j = 0; j < instructions.length; j++) {
    const i = instructions[j]!;
    switch (i.type) {
      case 'apply_actions':
        apply = i.actions;
        break;
      case 'goto_table':
        goto = i.tableId;
        break;
      case 'meter':
        meter = i;
        break;
      case 'write_actions':
        write = i.actions;
        break;
    }
  }
  if (meter !== undefined && (meter.meterId === 0 || meter.meterId > 0xffff0000)) {
    throw new CodecError(`meter ${meter.meterId} is not a meter`, OFPET.METER_MOD_FAILED, OFPMMFC.INVALID_METER);
  }
  const c: Context = { tableId, inconsistent: undefined };
  if (apply !== undefined) checkList(apply, s, c);
  if (write !== undefined) {
    // An action set is checked on a copy of the context: its inconsistencies do not count (check_WRITE_ACTIONS).
    const saved = { ...s };
    checkList(write, s, { tableId, inconsistent: undefined });
    Object.assign(s, saved);
  }
  if (goto !== undefined && tableId !== 255 && goto <= tableId) throw new CodecError(`goto_table:${goto} from table ${tableId}`, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID);
  if (c.inconsistent) throw inconsistent(c.inconsistent);
}

/**
 * ofputil_decode_flow_mod's conntrack tuple check on the match's flow state: matching ct_nw_src/dst needs eth_type
 * IPv4, ct_ipv6_src/dst IPv6 (OFPBAC_MATCH_INCONSISTENT).
 */
export function checkCtTupleMatch(s: FlowState): void {
  if ((s.ctTuple4 && s.ethType !== ETH_IP) || (s.ctTuple6 && s.ethType !== ETH_IPV6)) throw inconsistent('a conntrack tuple field of the other IP version');
}
