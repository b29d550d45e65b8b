// Actions and instructions printed exactly as `ovs-ofctl -O OpenFlow13 dump-flows` prints them. The formatters are a
// registry keyed by Action['type'].

import { NX_VENDOR_ID, OFPP, OFPR } from '../consts.js';
import { NX_CT_F, NX_CT_RECIRC_NONE, NX_NAT_F, NX_NAT_RANGE, NX_ACTION_SAMPLE, NXAST } from '../action-consts.js';
import { fieldByName } from '../oxm-fields.js';
import { formatFieldValue } from './field-value.js';
import type { Action, ActionType, Instruction, OxmField } from '../types.js';
import { formatLearn } from './learn-text.js';
import { formatSubfield, hex0x } from './action-text-util.js';
import { type ActionOf, CT_ALGS, HASH_FIELDS, instructionRank, MP_ALGS, REASONS } from './action-names.js';
import { PORT_NAMES, formatPort, formatPort16 } from './port-text.js';

const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((b, i) => b === y[i]);

type Formatter<A extends Action> = (a: A) => string;

function formatOxmField(f: OxmField): string {
  const info = f.field === 'unknown' ? undefined : fieldByName(f.field);
  if (!info) return `set_field:0x${hex(f.value)}${f.mask ? `/0x${hex(f.mask)}` : ''}->unknown_0x${(f.header ?? 0).toString(16)}`;
  return `set_field:${formatFieldValue(info, f.value, f.mask)}->${info.ovsName}`;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const dotted = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('.');

function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function formatIpv6(b: Uint8Array): string {
  const info = fieldByName('ipv6_src');
  return info ? formatFieldValue(info, b) : hex(b);
}

function formatNat(a: ActionOf<'nx_nat'>): string {
  let s = 'nat';
  if (!(a.flags & (NX_NAT_F.SRC | NX_NAT_F.DST))) return s;
  s += a.flags & NX_NAT_F.SRC ? '(src' : '(dst';
  const p = a.rangePresent;
  if (p & NX_NAT_RANGE.IPV4_MIN) {
    s += `=${formatIpv4(a.ipv4Min ?? 0)}`;
    if (a.ipv4Max && a.ipv4Max !== a.ipv4Min) s += `-${formatIpv4(a.ipv4Max)}`;
  } else if (p & NX_NAT_RANGE.IPV6_MIN && a.ipv6Min) {
    s += `=[${formatIpv6(a.ipv6Min)}]`;
    if (a.ipv6Max && a.ipv6Max.some((x) => x) && !sameBytes(a.ipv6Max, a.ipv6Min)) s += `-[${formatIpv6(a.ipv6Max)}]`;
  }
  if (p & (NX_NAT_RANGE.IPV4_MIN | NX_NAT_RANGE.IPV6_MIN) && a.protoMin) {
    s += `:${a.protoMin}`;
    if (a.protoMax && a.protoMax !== a.protoMin) s += `-${a.protoMax}`;
  }
  if (a.flags & NX_NAT_F.PERSISTENT) s += ',persistent';
  if (a.flags & NX_NAT_F.PROTO_HASH) s += ',hash';
  if (a.flags & NX_NAT_F.PROTO_RANDOM) s += ',random';
  return `${s})`;
}

function formatCt(a: ActionOf<'nx_ct'>): string {
  const parts: string[] = [];
  if (a.flags & NX_CT_F.COMMIT) parts.push('commit');
  if (a.flags & NX_CT_F.FORCE) parts.push('force');
  if (a.recircTable !== NX_CT_RECIRC_NONE) parts.push(`table=${a.recircTable}`);
  if (a.zoneSrc) parts.push(`zone=${formatSubfield(a.zoneSrc, a.zoneOfs, a.zoneNBits)}`);
  else if (a.zoneImm) parts.push(`zone=${a.zoneImm}`);
  let rest = a.actions;
  if (rest[0]?.type === 'nx_nat') {
    parts.push(formatNat(rest[0]));
    rest = rest.slice(1);
  }
  if (rest.length) parts.push(`exec(${formatActions(rest)})`);
  if (a.alg) parts.push(`alg=${CT_ALGS.find(([, n]) => n === a.alg)?.[0] ?? a.alg}`);
  return `ct(${parts.join(',')})`;
}

function formatControllerFields(maxLen: number, controllerId: number, reason: number, userdata?: Uint8Array, pause?: boolean, meterId?: number): string {
  if (reason === OFPR.ACTION && controllerId === 0 && !userdata?.length && !pause && !meterId) return `CONTROLLER:${maxLen}`;
  const parts: string[] = [];
  if (reason !== OFPR.ACTION) parts.push(`reason=${REASONS.find(([, n]) => n === reason)?.[0] ?? reason}`);
  if (maxLen !== 0xffff) parts.push(`max_len=${maxLen}`);
  if (controllerId !== 0) parts.push(`id=${controllerId}`);
  if (userdata?.length) parts.push(`userdata=${dotted(userdata)}`);
  if (pause) parts.push('pause');
  if (meterId) parts.push(`meter_id=${meterId}`);
  return `controller(${parts.join(',')})`;
}

function formatResubmit(a: ActionOf<'nx_resubmit'>): string {
  const table = a.table ?? 0xff;
  const inPortIsDefault = a.inPort === OFPP.IN_PORT - 0xffff0000;
  if (!inPortIsDefault && table === 0xff && !a.ct) return `resubmit:${formatPort16(a.inPort)}`;
  return `resubmit(${inPortIsDefault ? '' : formatPort16(a.inPort)},${table === 0xff ? '' : table}${a.ct ? ',ct' : ''})`;
}

function formatSample(a: ActionOf<'nx_sample'>): string {
  let s = `sample(probability=${a.probability},collector_set_id=${a.collectorSetId},obs_domain_id=${a.obsDomainId},obs_point_id=${a.obsPointId}`;
  if (a.version !== 1 && a.samplingPort !== undefined && a.samplingPort !== 0xffff) s += `,sampling_port=${formatPort16(a.samplingPort)}`;
  if (a.direction === NX_ACTION_SAMPLE.INGRESS) s += ',ingress';
  else if (a.direction === NX_ACTION_SAMPLE.EGRESS) s += ',egress';
  return `${s})`;
}

function formatFinTimeout(a: ActionOf<'nx_fin_timeout'>): string {
  const parts: string[] = [];
  if (a.finIdleTimeout) parts.push(`idle_timeout=${a.finIdleTimeout}`);
  if (a.finHardTimeout) parts.push(`hard_timeout=${a.finHardTimeout}`);
  return `fin_timeout(${parts.join(',')})`;
}

function formatExperimenter(a: ActionOf<'experimenter'>): string {
  if (a.experimenter === NX_VENDOR_ID && a.subtype === NXAST.POP_QUEUE && a.raw.length === 16) return 'pop_queue';
  return `experimenter(0x${a.experimenter.toString(16)},${dotted(a.raw)})`;
}

const formatters: { readonly [T in ActionType]: Formatter<ActionOf<T>> } = {
  output: (a) => (a.port === OFPP.CONTROLLER ? `CONTROLLER:${a.maxLen}` : a.port >= OFPP.MAX && PORT_NAMES.has(a.port) ? formatPort(a.port) : `output:${formatPort(a.port)}`),
  copy_ttl_out: () => 'copy_ttl_out',
  copy_ttl_in: () => 'copy_ttl_in',
  set_mpls_ttl: (a) => `set_mpls_ttl(${a.ttl})`,
  dec_mpls_ttl: () => 'dec_mpls_ttl',
  push_vlan: (a) => `push_vlan:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  pop_vlan: () => 'pop_vlan',
  push_mpls: (a) => `push_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  pop_mpls: (a) => `pop_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  set_queue: (a) => `set_queue:${a.queueId}`,
  group: (a) => `group:${a.groupId}`,
  set_nw_ttl: (a) => `mod_nw_ttl:${a.ttl}`,
  dec_nw_ttl: () => 'dec_ttl',
  set_field: (a) => formatOxmField(a.field),
  push_pbb: (a) => `push_pbb:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  pop_pbb: () => 'pop_pbb',
  nx_resubmit: formatResubmit,
  nx_reg_move: (a) => `move:${formatSubfield(a.src, a.srcOfs, a.nBits)}->${formatSubfield(a.dst, a.dstOfs, a.nBits)}`,
  nx_reg_load: (a) => `load:${hex0x(a.value)}->${formatSubfield(a.dst, a.ofs, a.nBits)}`,
  nx_reg_load2: (a) => formatOxmField(a.field),
  nx_clone: (a) => `clone(${formatActions(a.actions)})`,
  nx_ct: formatCt,
  nx_ct_clear: () => 'ct_clear',
  nx_nat: formatNat,
  nx_conjunction: (a) => `conjunction(${a.id},${a.clause + 1}/${a.nClauses})`,
  nx_learn: (a) => formatLearn(a),
  nx_note: (a) => `note:${dotted(a.note)}`,
  nx_dec_ttl: (a) => (a.controllerIds ? `dec_ttl(${a.controllerIds.join(',')})` : 'dec_ttl'),
  nx_controller: (a) => formatControllerFields(a.maxLen, a.controllerId, a.reason),
  nx_controller2: (a) => formatControllerFields(a.maxLen ?? 0xffff, a.controllerId ?? 0, a.reason ?? OFPR.ACTION, a.userdata, a.pause, a.meterId),
  nx_output_reg: (a) => `output:${formatSubfield(a.src, a.ofs, a.nBits)}`,
  nx_output_reg2: (a) => `output:${formatSubfield(a.src, a.ofs, a.nBits)}`,
  nx_multipath: (a) =>
    `multipath(${HASH_FIELDS.find(([, n]) => n === a.fields)?.[0] ?? `<unknown ${a.fields}>`},${a.basis},${MP_ALGS.find(([, n]) => n === a.algorithm)?.[0] ?? `<unknown ${a.algorithm}>`},${a.maxLink + 1},${a.arg},${formatSubfield(a.dst, a.ofs, a.nBits)})`,
  nx_exit: () => 'exit',
  nx_sample: formatSample,
  nx_fin_timeout: formatFinTimeout,
  nx_check_pkt_larger: (a) => `check_pkt_larger(${a.pktLen})->${formatSubfield(a.dst, a.ofs, 1)}`,
  onf_copy_field: (a) => `move:${formatSubfield(a.src, a.srcOffset, a.nBits)}->${formatSubfield(a.dst, a.dstOffset, a.nBits)}`,
  experimenter: formatExperimenter,
};

export function formatAction(a: Action): string {
  return (formatters[a.type] as Formatter<Action>)(a);
}

/** Comma-separated actions as ovs-ofctl prints them; an empty list is "drop". */
export function formatActions(actions: readonly Action[]): string {
  if (actions.length === 0) return 'drop';
  return actions.map(formatAction).join(',');
}

function formatInstruction(i: Instruction): string | undefined {
  switch (i.type) {
    case 'meter':
      return `meter:${i.meterId}`;
    case 'apply_actions':
      return i.actions.length ? formatActions(i.actions) : undefined;
    case 'clear_actions':
      return 'clear_actions';
    case 'write_actions':
      return `write_actions(${formatActions(i.actions)})`;
    case 'write_metadata':
      return `write_metadata:${hex0x(i.metadata)}${i.mask === 0xffffffffffffffffn ? '' : `/${hex0x(i.mask)}`}`;
    case 'goto_table':
      return `goto_table:${i.tableId}`;
    case 'experimenter':
      return `experimenter_instruction(0x${i.experimenter.toString(16)},${dotted(i.raw)})`;
  }
}

/** The `actions=` text ovs-ofctl prints for these instructions ("drop" when there is nothing to do). */
export function formatInstructions(instructions: readonly Instruction[]): string {
  const sorted = [...instructions].sort((x, y) => instructionRank(x.type) - instructionRank(y.type));
  const parts: string[] = [];
  for (const i of sorted) {
    const s = formatInstruction(i);
    if (s !== undefined) parts.push(s);
  }
  return parts.length ? parts.join(',') : 'drop';
}

