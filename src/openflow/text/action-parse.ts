// ovs-ofctl action and instruction syntax: parse what `ovs-ofctl -O OpenFlow13 add-flow` accepts into the same
// Action values OVS would put on the wire. Keyword parsers are a registry keyed by keyword; the extension actions'
// parsers are in action-parse-nicira.ts, their printers in action-format.ts.

import { OFPP } from '../consts.js';
import { NX_CT_F, NX_CT_RECIRC_NONE } from '../action-consts.js';
import { OFPXMC, fieldByName, nxmCodePoint } from '../oxm-fields.js';
import type { FieldInfo } from '../oxm-fields.js';
import { exactCopy, newBytes, parseFieldValue } from './field-value.js';
import type { Action, Instruction } from '../types.js';
import { parseLearn } from './learn-text.js';
import { ActionSyntaxError } from './action-syntax-error.js';
import { parseSubfield, type Subfield, fieldRefFor, tableArg, uintArg, bigUintArg } from './action-text-util.js';
import { CT_ALGS, INSTRUCTION_KEYWORD_RANK } from './action-names.js';
import { type KeyValue, noValue, requireValue, splitKeyValues } from './key-value.js';
import { isPortName, parseOutputPort } from './port-text.js';
import {
  parseCheckPktLarger,
  parseConjunction,
  parseController,
  parseDecTtl,
  parseEnqueue,
  parseFinTimeout,
  parseMultipath,
  parseNat,
  parseNote,
  parseResubmit,
  parseSample,
  popQueue,
} from './action-parse-nicira.js';

export { ActionSyntaxError } from './action-syntax-error.js';

/** Flow context some keywords need (OVS reads it from the flow's match). */
export interface ActionParseContext {
  /** The match's ip_proto: mod_tp_src/mod_tp_dst set tcp_*, udp_* or sctp_* accordingly. */
  readonly ipProto?: number;
  /** The match requires a VLAN header; otherwise mod_vlan_vid/mod_vlan_pcp push one first, as OVS does. */
  readonly hasVlan?: boolean;
}

type KeywordParser = (kv: KeyValue, ctx: ParseState) => Action[];

interface ParseState {
  readonly ctx: ActionParseContext;
  readonly depth: number;
  /** Whether the packet has a VLAN header at this point of the action list (pop_vlan/push_vlan change it). */
  readonly vlan: { present: boolean };
  /** The action this list is nested in, where that restricts it (ofpacts_verify_nested): ct's exec or write_actions. */
  readonly outer?: 'ct' | 'write_actions';
}

const nested = (st: ParseState, outer?: 'ct' | 'write_actions'): ParseState => ({ ctx: st.ctx, depth: st.depth + 1, vlan: { present: st.vlan.present }, ...(outer && { outer }) });

const MAX_TEXT_NESTING = 16;

const simple =
  (make: () => Action): KeywordParser =>
  (kv) => {
    noValue(kv);
    return [make()];
  };

const ethertypeKeyword =
  (type: 'push_vlan' | 'push_mpls' | 'pop_mpls'): KeywordParser =>
  (kv) => [{ type, ethertype: uintArg(requireValue(kv), 0xffff, kv.token, 'ethertype') }];

function lookupField(name: string, token: string): FieldInfo {
  const info = fieldByName(name);
  if (!info) throw new ActionSyntaxError(`${name}: unknown field`, token);
  return info;
}

/** set_field and the mod_* shorthands: one OFPAT_SET_FIELD, or reg_load(s) when only part of the field is set. */
function setField(given: FieldInfo, value: Uint8Array, mask: Uint8Array | undefined, token: string): Action[] {
  // OVS puts the field's OF1.3 code point (OXM when it has one) in set_field, whatever name the text used.
  const info = fieldByName(given.ovsName) ?? given;
  if (!mask || mask.every((b) => b === 0xff)) {
    return [{ type: 'set_field', field: { field: info.name, value } }];
  }
  const cp = nxmCodePoint(info);
  if (cp.oxmClass !== OFPXMC.NXM_0 && cp.oxmClass !== OFPXMC.NXM_1) {
    if (!info.maskable) throw new ActionSyntaxError(`${info.name} cannot be partially set`, token);
    return [{ type: 'nx_reg_load2', field: { field: info.name, value, mask } }];
  }
  // OVS's set_field_to_nxast: one NXAST_REG_LOAD per run of contiguous mask bits (at most 64 bits each).
  const dst = fieldRefFor(info);
  const width = info.length * 8;
  const bit = (b: Uint8Array, i: number): number => (b[b.length - 1 - (i >> 3)]! >> (i & 7)) & 1;
  const out: Action[] = [];
  for (let i = 0; i < width; ) {
    if (!bit(mask, i)) {
      i++;
      continue;
    }
    const ofs = i;
    let v = 0n;
    while (i < width && bit(mask, i) && i - ofs < 64) {
      if (bit(value, i)) v |= 1n << BigInt(i - ofs);
      i++;
    }
    out.push({ type: 'nx_reg_load', ofs, nBits: i - ofs, dst, value: v });
  }
  return out;
}

function parseSetFieldArg(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.lastIndexOf('->');
  if (arrow < 0) throw new ActionSyntaxError(`set_field: missing "->" in ${kv.token}`, kv.token);
  const name = text.slice(arrow + 2);
  const info = lookupField(name, kv.token);
  // Like a match keyword, set_field takes the field's name or alias; NXM_*/OXM_* names are for field references.
  const k = name.toLowerCase();
  if (info.ovsName !== k && info.name !== k && !info.aliases.includes(k)) throw new ActionSyntaxError(`${kv.token}: ${name} is not a valid OXM field name`, kv.token);
  let parsed: { value: Uint8Array; mask?: Uint8Array };
  try {
    parsed = parseFieldValue(info, text.slice(0, arrow));
  } catch (e) {
    throw new ActionSyntaxError(`${kv.token}: ${(e as Error).message}`, kv.token);
  }
  return setField(info, parsed.value, parsed.mask, kv.token);
}

/** mod_dl_src:X and friends: set_field on a fixed field, value in that field's own syntax. */
const modKeyword =
  (fieldName: string, transform?: (v: number) => number): KeywordParser =>
  (kv) => {
    const info = lookupField(fieldName, kv.token);
    const text = requireValue(kv);
    let value: Uint8Array;
    try {
      if (transform) {
        const n = transform(uintArg(text, 0xffffffff, kv.token, kv.key));
        value = newBytes(info.length);
        for (let i = info.length - 1, x = n; i >= 0; i--, x = Math.floor(x / 256)) value[i] = x & 0xff;
      } else {
        value = parseFieldValue(info, text).value;
      }
    } catch (e) {
      if (e instanceof ActionSyntaxError) throw e;
      throw new ActionSyntaxError(`${kv.token}: ${(e as Error).message}`, kv.token);
    }
    return setField(info, value, undefined, kv.token);
  };

/** OpenFlow 1.0 semantics of mod_vlan_*: push an 802.1Q header first when the packet has none. */
const withVlan =
  (inner: KeywordParser): KeywordParser =>
  (kv, st) => {
    const out = inner(kv, st);
    if (st.vlan.present) return out;
    return [{ type: 'push_vlan', ethertype: 0x8100 }, ...out];
  };

const L4_PREFIX: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

const modTp =
  (which: 'src' | 'dst'): KeywordParser =>
  (kv, st) => {
    const proto = st.ctx.ipProto;
    const prefix = proto === undefined ? undefined : L4_PREFIX[proto];
    if (!prefix) throw new ActionSyntaxError(`${kv.token}: needs a tcp, udp or sctp match`, kv.token);
    return modKeyword(`${prefix}_${which}`)(kv, st);
  };

function parseLoad(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.indexOf('->');
  if (arrow < 0) throw new ActionSyntaxError(`load: missing "->" in ${kv.token}`, kv.token);
  const sf = parseSubfield(text.slice(arrow + 2), kv.token);
  if (sf.nBits > 64) throw new ActionSyntaxError(`${kv.token}: load of more than 64 bits is not supported`, kv.token);
  const value = bigUintArg(text.slice(0, arrow), kv.token);
  if (sf.nBits < 64 && value >> BigInt(sf.nBits) !== 0n) {
    throw new ActionSyntaxError(`${kv.token}: value does not fit in ${sf.nBits} bits`, kv.token);
  }
  return [{ type: 'nx_reg_load', ofs: sf.ofs, nBits: sf.nBits, dst: sf.ref, value }];
}

function parseMove(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.indexOf('->');
  if (arrow < 0) throw new ActionSyntaxError(`move: missing "->" in ${kv.token}`, kv.token);
  const src = parseSubfield(text.slice(0, arrow), kv.token);
  const dst = parseSubfield(text.slice(arrow + 2), kv.token);
  if (src.nBits !== dst.nBits) {
    throw new ActionSyntaxError(`${kv.token}: source is ${src.nBits} bits but destination is ${dst.nBits}`, kv.token);
  }
  return [{ type: 'nx_reg_move', nBits: src.nBits, srcOfs: src.ofs, dstOfs: dst.ofs, src: src.ref, dst: dst.ref }];
}

function parseOutput(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  if (kv.paren) throw new ActionSyntaxError(`${kv.token}: output(...) is not supported`, kv.token);
  if (!isPortName(text) && !/^\d+$/.test(text)) {
    const sf = parseSubfield(text, kv.token);
    if (sf.ref.header >>> 16 === 0xffff) return [{ type: 'nx_output_reg2', ofs: sf.ofs, nBits: sf.nBits, src: sf.ref, maxLen: 0xffff }];
    return [{ type: 'nx_output_reg', ofs: sf.ofs, nBits: sf.nBits, src: sf.ref, maxLen: 0xffff }];
  }
  return [outputTo(parseOutputPort(text, kv.token))];
}

const outputTo = (port: number): Action => ({ type: 'output', port, maxLen: port === OFPP.CONTROLLER ? 0xffff : 0 });

function parseCt(kv: KeyValue, st: ParseState): Action[] {
  let flags = 0;
  let zone: Subfield | undefined;
  let zoneImm = 0;
  let recircTable = NX_CT_RECIRC_NONE;
  let alg = 0;
  const nat: Action[] = [];
  const exec: Action[] = [];
  if (kv.value !== undefined) {
    if (!kv.paren) throw new ActionSyntaxError(`${kv.token}: ct takes its arguments in parentheses`, kv.token);
    for (const p of splitKeyValues(kv.value)) {
      switch (p.key) {
        case 'commit':
          flags |= NX_CT_F.COMMIT;
          break;
        case 'force':
          flags |= NX_CT_F.FORCE;
          break;
        case 'table':
          recircTable = tableArg(p.value ?? '', 0xfe, kv.token);
          break;
        case 'zone':
          if (p.value && /^\d|^0x/i.test(p.value)) zoneImm = uintArg(p.value, 0xffff, kv.token, 'zone');
          else zone = parseSubfield(p.value ?? '', kv.token);
          break;
        case 'alg': {
          const found = CT_ALGS.find(([name]) => name === p.value);
          // Only the helpers OVS names; it refuses numbers ('invalid conntrack helper').
          if (!found) throw new ActionSyntaxError(`${kv.token}: invalid conntrack helper "${p.value ?? ''}"`, kv.token);
          alg = found[1];
          break;
        }
        case 'nat':
          nat.push(...parseNat(p));
          break;
        case 'exec':
          exec.push(...parseActionList(p.value ?? '', nested(st, 'ct')));
          break;
        default:
          throw new ActionSyntaxError(`${kv.token}: unknown ct argument "${p.key}"`, kv.token);
      }
    }
  }
  const actions = [...nat, ...exec];
  if (zone) {
    return [{ type: 'nx_ct', flags, zoneSrc: zone.ref, zoneOfs: zone.ofs, zoneNBits: zone.nBits, zoneImm: 0, recircTable, alg, actions }];
  }
  return [{ type: 'nx_ct', flags, zoneOfs: 0, zoneNBits: 0, zoneImm, recircTable, alg, actions }];
}

const keywordParsers = new Map<string, KeywordParser>([
  ['output', parseOutput],
  ['controller', parseController],
  ['drop', (kv) => (noValue(kv), [])],
  ['mod_dl_src', modKeyword('eth_src')],
  ['mod_dl_dst', modKeyword('eth_dst')],
  ['mod_nw_src', modKeyword('ip_src')],
  ['mod_nw_dst', modKeyword('ip_dst')],
  ['mod_nw_tos', modKeyword('ip_dscp', (v) => v >> 2)],
  ['mod_nw_ecn', modKeyword('nw_ecn')],
  ['mod_tp_src', modTp('src')],
  ['mod_tp_dst', modTp('dst')],
  ['mod_vlan_vid', withVlan(modKeyword('vlan_vid', (v) => (v & 0xfff) | 0x1000))],
  ['mod_vlan_pcp', withVlan(modKeyword('vlan_pcp'))],
  ['mod_nw_ttl', (kv) => [{ type: 'set_nw_ttl', ttl: uintArg(requireValue(kv), 0xff, kv.token, 'ttl') }]],
  ['set_tunnel', modKeyword('tun_id')],
  ['set_tunnel64', modKeyword('tun_id')],
  ['set_mpls_label', modKeyword('mpls_label')],
  ['set_mpls_tc', modKeyword('mpls_tc')],
  ['strip_vlan', simple(() => ({ type: 'pop_vlan' }))],
  ['pop_vlan', simple(() => ({ type: 'pop_vlan' }))],
  [
    'push_vlan',
    (kv, st) => {
      const out = ethertypeKeyword('push_vlan')(kv, st);
      // 802.1Q and 802.1ad only (ofpact_check: OFPBAC_BAD_ARGUMENT).
      const e = (out[0] as { ethertype: number }).ethertype;
      if (e !== 0x8100 && e !== 0x88a8) throw new ActionSyntaxError(`${kv.token}: 0x${e.toString(16)} not a valid VLAN ethertype`, kv.token);
      return out;
    },
  ],
  ['push_mpls', ethertypeKeyword('push_mpls')],
  ['pop_mpls', ethertypeKeyword('pop_mpls')],
  ['set_mpls_ttl', (kv) => [{ type: 'set_mpls_ttl', ttl: uintArg(requireValue(kv), 0xff, kv.token, 'ttl') }]],
  ['dec_mpls_ttl', simple(() => ({ type: 'dec_mpls_ttl' }))],
  ['set_queue', (kv) => [{ type: 'set_queue', queueId: uintArg(requireValue(kv), 0xffffffff, kv.token, 'queue') }]],
  ['pop_queue', simple(popQueue)],
  ['enqueue', parseEnqueue],
  ['group', (kv) => [{ type: 'group', groupId: uintArg(requireValue(kv), 0xffffffff, kv.token, 'group') }]],
  ['set_field', parseSetFieldArg],
  ['load', parseLoad],
  ['move', parseMove],
  ['resubmit', parseResubmit],
  ['clone', (kv, st) => [{ type: 'nx_clone', actions: parseActionList(kv.value ?? '', nested(st)) }]],
  ['ct', parseCt],
  ['ct_clear', simple(() => ({ type: 'nx_ct_clear' }))],
  ['nat', parseNat],
  ['conjunction', parseConjunction],
  ['learn', (kv) => [parseLearn(kv.value ?? '', kv.token)]],
  ['note', parseNote],
  ['dec_ttl', parseDecTtl],
  ['multipath', parseMultipath],
  ['exit', simple(() => ({ type: 'nx_exit' }))],
  ['sample', parseSample],
  ['fin_timeout', parseFinTimeout],
  ['check_pkt_larger', parseCheckPktLarger],
]);

function parseOneAction(kv: KeyValue, st: ParseState): Action[] {
  const actions = parseOneActionRaw(kv, st);
  for (const a of actions) {
    checkNesting(a, st, kv);
    if (a.type === 'pop_vlan') st.vlan.present = false;
    else if (a.type === 'push_vlan') st.vlan.present = true;
  }
  return actions;
}

/** The field an action writes, if it writes one (ofpact_get_mf_dst). */
function writtenField(a: Action): string | undefined {
  switch (a.type) {
    case 'set_field':
    case 'nx_reg_load2':
      return a.field.field;
    case 'nx_reg_load':
    case 'nx_reg_move':
    case 'onf_copy_field':
      return a.dst.field;
    default:
      return undefined;
  }
}

/** ct_mark and ct_label may only be written inside ct(exec(...)) (field_requires_ct). */
const requiresCt = (field: string | undefined): boolean => {
  const info = field === undefined ? undefined : fieldByName(field);
  return info !== undefined && (info.ovsName === 'ct_mark' || info.ovsName === 'ct_label');
};

/**
 * What ofpacts_verify_nested rejects: writing ct_mark / ct_label outside ct's exec, nat outside ct, and anything
 * but writes of ct_mark / ct_label inside ct's exec.
 */
function checkNesting(a: Action, st: ParseState, kv: KeyValue): void {
  const field = writtenField(a);
  if (requiresCt(field) && st.outer !== 'ct') throw new ActionSyntaxError(`${kv.token}: cannot set CT fields outside of ct action`, kv.token);
  if (a.type === 'nx_nat') {
    if (st.outer !== 'ct') throw new ActionSyntaxError(`${kv.token}: cannot have NAT action outside of "ct" action`, kv.token);
    return;
  }
  if (st.outer !== 'ct') return;
  if (field === undefined) throw new ActionSyntaxError(`${kv.token}: ct action doesn't support nested action ${kv.key}`, kv.token);
  if (!requiresCt(field)) throw new ActionSyntaxError(`${kv.token}: ct action doesn't support nested modification of ${field}`, kv.token);
}

const dropAccompanied = (token: string): ActionSyntaxError => new ActionSyntaxError(`"drop" must not be accompanied by any other action or instruction`, token);

function parseOneActionRaw(kv: KeyValue, st: ParseState): Action[] {
  const parser = keywordParsers.get(kv.key.toLowerCase());
  if (parser) return parser(kv, st);
  if (kv.value === undefined) {
    // A bare port: "2", "LOCAL", "IN_PORT", "CONTROLLER".
    const upper = kv.key.toUpperCase();
    if (upper === 'CONTROLLER') return parseController(kv);
    if (isPortName(upper) || /^\d+$/.test(kv.key)) return [outputTo(parseOutputPort(kv.key, kv.token))];
  }
  if (INSTRUCTION_KEYWORD_RANK.has(kv.key)) throw new ActionSyntaxError(`${kv.token}: instruction not allowed here`, kv.token);
  throw new ActionSyntaxError(`unknown action ${kv.key}`, kv.token);
}

function parseActionList(text: string, st: ParseState): Action[] {
  if (st.depth > MAX_TEXT_NESTING) throw new ActionSyntaxError(`actions nested more than ${MAX_TEXT_NESTING} deep`, text.slice(0, 40));
  const out: Action[] = [];
  let drop: string | undefined;
  for (const kv of splitKeyValues(text)) {
    if (kv.key.toLowerCase() === 'drop') drop = kv.token;
    out.push(...parseOneAction(kv, st));
  }
  if (drop !== undefined && out.length > 0) throw dropAccompanied(drop);
  return exactCopy(out);
}

/** Parses an ovs-ofctl action list ("output:1,resubmit(,10)"). Instructions are rejected; see parseInstructions. */
export function parseActions(text: string, ctx: ActionParseContext = {}): Action[] {
  return parseActionList(text, { ctx, depth: 0, vlan: { present: ctx.hasVlan ?? false } });
}

/**
 * Parses the text after `actions=`: plain actions become one apply_actions; goto_table, write_metadata, meter,
 * clear_actions and write_actions(...) become their instructions. `drop` or nothing gives no instructions.
 * Instructions must be written, and come out, in the order OVS uses (meter, apply, clear, write, metadata, goto).
 */
export function parseInstructions(text: string, ctx: ActionParseContext = {}): Instruction[] {
  const st: ParseState = { ctx, depth: 0, vlan: { present: ctx.hasVlan ?? false } };
  const apply: Action[] = [];
  let meter: Instruction | undefined;
  let clear: Instruction | undefined;
  let write: Instruction | undefined;
  let writeSeen = false;
  let metadata: Instruction | undefined;
  let gotoTable: Instruction | undefined;
  const once = (seen: Instruction | undefined, kv: KeyValue): void => {
    if (seen) throw new ActionSyntaxError(`${kv.key}: instruction given twice`, kv.token);
  };
  // Like OVS, instructions must be written in the order OpenFlow 1.1+ executes them.
  let last: { rank: number; name: string } = { rank: -1, name: '' };
  let drop: string | undefined;
  for (const kv of splitKeyValues(text)) {
    if (kv.key.toLowerCase() === 'drop') {
      noValue(kv);
      drop = kv.token;
      continue;
    }
    const rank = INSTRUCTION_KEYWORD_RANK.get(kv.key) ?? INSTRUCTION_KEYWORD_RANK.get('apply_actions')!;
    const name = INSTRUCTION_KEYWORD_RANK.has(kv.key) ? kv.key : 'apply_actions';
    if (rank < last.rank) throw new ActionSyntaxError(`${kv.token}: invalid instruction ordering: ${name} must appear before ${last.name}`, kv.token);
    last = { rank, name };
    switch (kv.key) {
      case 'meter':
        once(meter, kv);
        meter = { type: 'meter', meterId: uintArg(requireValue(kv), 0xffffffff, kv.token, 'meter') };
        // Meters are 1..OFPM_MAX (0xffff0000); 0 and the virtual meters above are refused (OFPMMFC_INVALID_METER).
        if (meter.meterId === 0 || meter.meterId > 0xffff0000) throw new ActionSyntaxError(`${kv.token}: not a valid meter (OFPMMFC_INVALID_METER)`, kv.token);
        break;
      case 'clear_actions':
        once(clear, kv);
        noValue(kv);
        clear = { type: 'clear_actions' };
        break;
      case 'write_actions':
        if (writeSeen) throw new ActionSyntaxError(`${kv.key}: instruction given twice`, kv.token);
        writeSeen = true;
        {
          const actions = parseActionList(kv.value ?? '', nested(st, 'write_actions'));
          // Writing an empty action set is no instruction at all, as OVS encodes it.
          write = actions.length ? { type: 'write_actions', actions } : undefined;
        }
        break;
      case 'write_metadata': {
        once(metadata, kv);
        const [v, m] = requireValue(kv).split('/');
        metadata = { type: 'write_metadata', metadata: bigUintArg(v!, kv.token), mask: m === undefined ? 0xffffffffffffffffn : bigUintArg(m, kv.token) };
        break;
      }
      case 'goto_table':
        once(gotoTable, kv);
        gotoTable = { type: 'goto_table', tableId: tableArg(requireValue(kv), 0xff, kv.token) };
        break;
      case 'apply_actions':
        // ovs-ofctl takes the actions themselves; the keyword is refused rather than read.
        throw new ActionSyntaxError(`${kv.token}: apply_actions is the default instruction`, kv.token);
      default:
        apply.push(...parseOneAction(kv, st));
    }
  }
  const out: Instruction[] = [];
  if (meter) out.push(meter);
  if (apply.length) out.push({ type: 'apply_actions', actions: exactCopy(apply) });
  if (clear) out.push(clear);
  if (write) out.push(write);
  if (metadata) out.push(metadata);
  if (gotoTable) out.push(gotoTable);
  if (drop !== undefined && out.length > 0) throw dropAccompanied(drop);
  return exactCopy(out);
}
