// Generators of ovs-ofctl flow text for the reverse direction of the differential fuzzer: flows as a person writes
// them, not only as our printer prints them. A flow is built from tokens: match fields from the whole registry (every
// name OVS and our parser accept for a field: ovs-fields(7) name, NXM/OXM names, aliases) with values in each
// field's syntaxes (decimal, hex, masks, CIDR, names, flags), protocol shorthands, the flow's own keys (priority,
// table, cookie, timeouts, flags), and an action list from every keyword our parser claims (with its argument
// forms) plus instructions. Numbers are sometimes out of range, spelt with leading zeros, or in the wrong base; a
// share of flows is then corrupted (a character inserted, dropped or replaced, a token added) so that both parsers'
// rejections are compared too.
import fc from 'fast-check';
import { FIELDS, type FieldInfo } from '../../../src/openflow/oxm-fields.js';
import { formatFieldValue } from '../../../src/openflow/text/field-value.js';
import { formatInstructions } from '../../../src/openflow/text/action-format.js';
import { formatMatch } from '../../../src/openflow/text/match-text.js';
import { instructionsArb, matchArb } from './arbitraries.js';

// ---- numbers ------------------------------------------------------------------------------------------------------

/** A number in 0..max as text: decimal or 0x hex, now and then just past max, with a leading zero, or negative. */
const numText = (max: number | bigint): fc.Arbitrary<string> => {
  const m = BigInt(max);
  const value = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(0n, 1n, m, m > 2n ? m / 2n : 1n) },
    { weight: 40, arbitrary: fc.bigInt({ min: 0n, max: m }) },
    { weight: 1, arbitrary: fc.constantFrom(m + 1n, m * 2n + 1n) },
  );
  return fc.tuple(value, fc.integer({ min: 0, max: 199 })).map(([v, how]) => {
    if (how < 120) return v.toString();
    if (how < 192) return `0x${v.toString(16)}`;
    if (how < 196) return `0${v.toString(8)}`;
    if (how < 198) return `0X${v.toString(16).toUpperCase()}`;
    if (how < 199) return `0${v.toString()}`;
    return `-${v.toString()}`;
  });
};

const u8t = numText(0xff);
const u16t = numText(0xffff);
const u32t = numText(0xffffffff);
const u64t = numText(0xffffffffffffffffn);

const RESERVED_PORTS = ['IN_PORT', 'TABLE', 'NORMAL', 'FLOOD', 'ALL', 'CONTROLLER', 'LOCAL', 'ANY', 'NONE', 'local', 'in_port', 'normal'];
const portText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...RESERVED_PORTS) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 100 }).map(String) },
  { weight: 2, arbitrary: numText(0xffffffff) },
  { weight: 1, arbitrary: fc.constantFrom('65279', '65280', '65534', '65535', '4294967040', '4294967294', '0', '0x5') },
);

const hexBytes = (min: number, max: number, dots: boolean): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(dots ? '.' : ''));

// ---- match fields -------------------------------------------------------------------------------------------------

const textFields = FIELDS.filter((f) => f.length > 0 && f.length <= 16);

/** Every name a field is spelt by in flow text. */
const namesOf = (f: FieldInfo): string[] => [...new Set([f.ovsName, f.name, ...f.aliases, ...(f.nxmName ? [f.nxmName] : []), ...(f.oxmName ? [f.oxmName] : [])])];

const maskWithin = (info: FieldInfo, b: Uint8Array): Uint8Array => {
  const v = b.slice();
  const extra = info.length * 8 - info.nBits;
  if (extra > 0 && extra < 8) v[0]! &= 0xff >> extra;
  else if (extra >= 8) for (let i = 0; i < Math.floor(extra / 8); i++) v[i] = 0;
  return v;
};

const bigOf = (b: Uint8Array): bigint => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);

/** A value for the field in its own syntax: as our printer writes it, or (integers) in another base, with a mask. */
const fieldValueText = (info: FieldInfo): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.uint8Array({ minLength: info.length, maxLength: info.length }),
      fc.uint8Array({ minLength: info.length, maxLength: info.length }),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    )
    .map(([rawV, rawM, how, wide]) => {
      const value = wide ? rawV : maskWithin(info, rawV);
      const masked = info.maskable && how >= 6;
      const mask = masked ? maskWithin(info, rawM) : undefined;
      const v = mask ? value.map((x, i) => x & mask[i]!) : value;
      if (info.kind === 'uint' && info.format !== 'port' && how % 3 === 1) {
        const vt = how % 2 ? bigOf(v).toString() : `0x${bigOf(v).toString(16)}`;
        return mask ? `${vt}/0x${bigOf(mask).toString(16)}` : vt;
      }
      if (info.kind === 'ipv4' && mask && how === 7) return `${formatFieldValue(info, v)}/${rawM[0]! % 34}`;
      try {
        return formatFieldValue(info, v, mask);
      } catch {
        return bigOf(v).toString();
      }
    });

/** Mostly the ovs-fields(7) name, sometimes any other spelling. */
const nameOf = (info: FieldInfo): fc.Arbitrary<string> => fc.oneof({ weight: 12, arbitrary: fc.constant(info.ovsName) }, { weight: 1, arbitrary: fc.constantFrom(...namesOf(info)) });

const fieldToken = fc.constantFrom(...textFields).chain((info) =>
  fc.tuple(nameOf(info), info.format === 'port' ? fc.oneof(portText, fieldValueText(info)) : fieldValueText(info), fc.constantFrom('=', ':')).map(([name, value, eq]) => `${name}${eq}${value}`),
);

const SHORTHANDS = ['ip', 'ipv6', 'tcp', 'udp', 'sctp', 'icmp', 'icmp6', 'arp', 'rarp', 'tcp6', 'udp6', 'sctp6', 'mpls', 'mplsm', 'ip,nw_proto=6', 'dl_type=0x0800', 'eth_type=0x86dd,nw_proto=58', 'vlan_tci=0x1000/0x1000'];

const flowKey = fc.oneof(
  fc.constantFrom('send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts'),
  u16t.map((v) => `priority=${v}`),
  u8t.map((v) => `table=${v}`),
  u64t.map((v) => `cookie=${v}`),
  u16t.map((v) => `idle_timeout=${v}`),
  u16t.map((v) => `hard_timeout=${v}`),
  portText.map((v) => `out_port=${v}`),
);

const matchTokens = fc.tuple(fc.option(fc.constantFrom(...SHORTHANDS), { nil: undefined, freq: 2 }), fc.array(fc.oneof({ weight: 3, arbitrary: fieldToken }, { weight: 1, arbitrary: flowKey }), { maxLength: 3 })).map(([sh, rest]) => (sh ? [sh, ...rest] : rest));

// ---- actions ------------------------------------------------------------------------------------------------------

/** Fields an action may use whatever the match (no prerequisites): most action fields come from these. */
const freeFields = textFields.filter((f) => !f.prereq);
const actionField = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...freeFields) }, { weight: 1, arbitrary: fc.constantFrom(...textFields) });

const subfield = actionField.chain((info) => {
  const bits = info.length * 8;
  const name = fc.constantFrom(...namesOf(info).filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n)));
  return fc.tuple(name, fc.integer({ min: 0, max: bits - 1 }), fc.integer({ min: 0, max: bits - 1 }), fc.integer({ min: 0, max: 3 })).map(([n, a, b, how]) => {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (how === 0) return `${n}[]`;
    if (how === 1) return `${n}[${lo}]`;
    return `${n}[${lo}..${hi}]`;
  });
});

const ETHERTYPES = ['0x8100', '0x88a8', '0x8847', '0x8848', '0x88e7', '0x0800', '0x86dd', '2048'];
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ipv6 = fc.constantFrom('::1', 'fe80::1', '2001:db8::', '2001:db8::ff', '::');

/** One action or instruction keyword with arguments, in the forms ovs-ofctl(8) documents. */
const leafKeyword: fc.Arbitrary<string> = fc.oneof(
  portText,
  portText.map((p) => `output:${p}`),
  subfield.map((s) => `output:${s}`),
  u16t.map((n) => `controller:${n}`),
  fc.constantFrom('controller', 'CONTROLLER', 'drop', 'pop_vlan', 'strip_vlan', 'pop_pbb', 'dec_mpls_ttl', 'copy_ttl_in', 'copy_ttl_out', 'pop_queue', 'exit', 'ct_clear', 'dec_ttl', 'nat', 'ct'),
  fc
    .tuple(fc.option(u16t, { nil: undefined }), fc.option(u16t, { nil: undefined }), fc.option(fc.constantFrom('no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out', 'bogus'), { nil: undefined }), fc.option(hexBytes(0, 6, true), { nil: undefined }), fc.boolean(), fc.option(u32t, { nil: undefined }))
    .map(([ml, id, r, ud, pause, meter]) => {
      const p = [ml && `max_len=${ml}`, id && `id=${id}`, r && `reason=${r}`, ud !== undefined && `userdata=${ud}`, pause && 'pause', meter && `meter_id=${meter}`].filter(Boolean);
      return `controller(${p.join(',')})`;
    }),
  fc.tuple(fc.constantFrom('mod_dl_src', 'mod_dl_dst'), fc.uint8Array({ minLength: 6, maxLength: 6 })).map(([k, b]) => `${k}:${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':')}`),
  fc.tuple(fc.constantFrom('mod_nw_src', 'mod_nw_dst'), ipv4).map(([k, a]) => `${k}:${a}`),
  fc.tuple(fc.constantFrom('mod_nw_ttl', 'set_mpls_ttl'), u8t).map(([k, n]) => `${k}:${n}`),
  fc.tuple(fc.constantFrom(['mod_nw_tos', 252, 4], ['mod_nw_ecn', 3, 1], ['set_mpls_tc', 7, 1], ['mod_vlan_pcp', 7, 1], ['mod_vlan_vid', 4095, 1], ['set_mpls_label', 0xfffff, 1]), fc.nat(), fc.integer({ min: 0, max: 29 })).map(
    ([[k, max, step], n, bad]) => `${k}:${bad === 0 ? max + step : Math.floor((n % (max + 1)) / step) * step}`,
  ),
  fc.tuple(fc.constantFrom('mod_tp_src', 'mod_tp_dst'), u16t).map(([k, n]) => `${k}:${n}`),
  fc.tuple(fc.constantFrom('set_tunnel', 'set_tunnel64'), u64t).map(([k, n]) => `${k}:${n}`),
  fc.tuple(fc.constantFrom('set_queue', 'group'), u32t).map(([k, n]) => `${k}:${n}`),
  fc.tuple(fc.constantFrom('push_vlan', 'push_mpls', 'pop_mpls', 'push_pbb'), fc.oneof(fc.constantFrom(...ETHERTYPES), u16t)).map(([k, e]) => `${k}:${e}`),
  fc.tuple(portText, u32t, fc.boolean()).map(([p, q, colon]) => (colon ? `enqueue:${p}:${q}` : `enqueue(${p},${q})`)),
  fc.tuple(actionField, fc.boolean()).chain(([info, masked]) =>
    fc.tuple(fieldValueText(info), nameOf(info)).map(([v, n]) => `set_field:${masked ? v : v.split('/')[0]}->${n}`),
  ),
  fc.tuple(u64t, subfield).map(([v, s]) => `load:${v}->${s}`),
  fc.tuple(actionField, actionField, fc.nat(), fc.nat(), fc.nat()).map(([a, b, x, y, z]) => {
    const n = 1 + (x % Math.min(a.length * 8, b.length * 8));
    const sa = y % (a.length * 8 - n + 1);
    const sb = z % (b.length * 8 - n + 1);
    return `move:${a.ovsName}[${sa}..${sa + n - 1}]->${b.ovsName}[${sb}..${sb + n - 1}]`;
  }),
  fc.tuple(fc.option(portText, { nil: undefined }), fc.option(u8t, { nil: undefined }), fc.boolean(), fc.boolean()).map(([p, t, ct, colon]) => (colon && p ? `resubmit:${p}` : `resubmit(${p ?? ''},${t ?? ''}${ct ? ',ct' : ''})`)),
  fc.tuple(fc.array(u16t, { minLength: 1, maxLength: 3 })).map(([ids]) => `dec_ttl(${ids.join(',')})`),
  hexBytes(0, 12, true).map((h) => `note:${h}`),
  fc.tuple(u32t, fc.integer({ min: 1, max: 66 }), fc.integer({ min: 0, max: 65 })).map(([id, a, b]) => `conjunction(${id},${Math.min(a, b)}/${Math.max(a, b)})`),
  fc
    .tuple(fc.constantFrom('eth_src', 'symmetric_l4', 'symmetric_l3l4', 'symmetric_l3l4+udp', 'nw_src', 'nw_dst', 'symmetric_l3', 'bogus'), u16t, fc.constantFrom('modulo_n', 'hash_threshold', 'hrw', 'iter_hash'), fc.oneof(fc.integer({ min: 1, max: 64 }).map(String), numText(0x10000)), u32t, subfield)
    .map((p) => `multipath(${p.join(',')})`),
  fc
    .tuple(u16t, u32t, u32t, u32t, fc.option(portText, { nil: undefined }), fc.option(fc.constantFrom('ingress', 'egress'), { nil: undefined }))
    .map(([pr, c, d, o, sp, dir]) => `sample(probability=${pr},collector_set_id=${c},obs_domain_id=${d},obs_point_id=${o}${sp ? `,sampling_port=${sp}` : ''}${dir ? `,${dir}` : ''})`),
  fc.tuple(fc.option(u16t, { nil: undefined }), fc.option(u16t, { nil: undefined })).map(([i, h]) => `fin_timeout(${[i && `idle_timeout=${i}`, h && `hard_timeout=${h}`].filter(Boolean).join(',')})`),
  fc.tuple(u16t, actionField, fc.nat()).map(([n, f, b]) => `check_pkt_larger(${n})->${f.ovsName}[${b % (f.length * 8)}]`),
  fc
    .tuple(fc.constantFrom('src', 'dst'), fc.option(fc.oneof(ipv4, fc.tuple(ipv4, ipv4).map(([a, b]) => `${a}-${b}`), ipv6.map((a) => `[${a}]`)), { nil: undefined }), fc.option(fc.tuple(u16t, fc.option(u16t, { nil: undefined })), { nil: undefined }), fc.subarray(['persistent', 'hash', 'random']))
    .map(([dir, addr, ports, flags]) => {
      const range = addr ? `=${addr}${ports ? `:${ports[0]}${ports[1] ? `-${ports[1]}` : ''}` : ''}` : '';
      return `nat(${[`${dir}${range}`, ...flags].join(',')})`;
    }),
);

const ctKeyword = (inner: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(fc.boolean(), fc.boolean(), fc.option(fc.oneof(u16t, subfield), { nil: undefined }), fc.option(u8t, { nil: undefined }), fc.option(fc.oneof(fc.constantFrom('ftp', 'tftp'), u16t), { nil: undefined }), fc.option(inner, { nil: undefined }))
    .map(([commit, force, zone, table, alg, exec]) => {
      const p = [commit && 'commit', force && 'force', zone !== undefined && `zone=${zone}`, table !== undefined && `table=${table}`, alg !== undefined && `alg=${alg}`, exec !== undefined && `exec(${exec})`].filter(Boolean);
      return `ct(${p.join(',')})`;
    });

const ctExec = fc.array(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => `set_field:${bigOf(b)}->ct_mark`), u64t.map((v) => `load:${v}->NXM_NX_CT_MARK[]`), leafKeyword), { maxLength: 2 }).map((a) => a.join(','));

const actionKeyword = fc.oneof(
  { weight: 12, arbitrary: leafKeyword },
  { weight: 1, arbitrary: ctKeyword(ctExec) },
  { weight: 1, arbitrary: fc.array(leafKeyword, { maxLength: 3 }).map((a) => `clone(${a.join(',')})`) },
);

const instructionKeyword = fc.oneof(
  u32t.map((n) => `meter:${n}`),
  fc.array(leafKeyword, { maxLength: 3 }).map((a) => `apply_actions(${a.join(',')})`),
  fc.constant('clear_actions'),
  fc.array(leafKeyword, { maxLength: 3 }).map((a) => `write_actions(${a.join(',')})`),
  fc.tuple(u64t, fc.option(u64t, { nil: undefined })).map(([v, m]) => `write_metadata:${v}${m ? `/${m}` : ''}`),
  u8t.map((n) => `goto_table:${n}`),
);

const actionsText = fc.array(fc.oneof({ weight: 5, arbitrary: actionKeyword }, { weight: 1, arbitrary: instructionKeyword }), { maxLength: 3 }).map((a) => (a.length ? a.join(',') : 'drop'));

// ---- whole flows --------------------------------------------------------------------------------------------------

/** A flow as a person writes it: tokens joined by ',' (sometimes ', ' or ' '), actions last. */
const writtenFlow = fc.tuple(matchTokens, actionsText, fc.constantFrom(',', ',', ',', ', ', ' ')).map(([m, a, sep]) => [...m, `actions=${a}`].join(sep));

/** A flow as our printer writes it, from generated match and instructions (every action type the codec models). */
const printedFlow = fc.tuple(matchArb, instructionsArb, fc.option(u16t, { nil: undefined })).map(([match, instructions, prio]) => {
  let m: string;
  let a: string;
  try {
    m = formatMatch(match);
    a = formatInstructions(instructions);
  } catch {
    return 'actions=drop';
  }
  const head = [prio !== undefined ? `priority=${prio}` : '', m].filter(Boolean).join(',');
  return head ? `${head},actions=${a}` : `actions=${a}`;
});

/** Corruptions of a flow text: a character inserted, dropped or replaced, or a token added. */
const CORRUPT_CHARS = [',', '=', ':', '(', ')', '/', '-', '>', '[', ']', '.', 'x', '0', '9', 'f', 'g', ' ', '_'];
const corruption = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.constantFrom(...CORRUPT_CHARS), fc.constantFrom('bogus', 'bogus=1', 'in_port', 'ip,', 'actions=drop', 'priority=', 'output:', 'goto_table:1')).map(
  ([how, at, ch, tok]) =>
    (t: string): string => {
      const i = t.length ? at % t.length : 0;
      if (how === 0) return t.slice(0, i) + ch + t.slice(i);
      if (how === 1) return t.slice(0, i) + t.slice(i + 1);
      if (how === 2) return t.slice(0, i) + ch + t.slice(i + 1);
      return `${tok},${t}`;
    },
);

export interface TextCase {
  readonly text: string;
  /** How it was made: 'written' (from keywords), 'printed' (our printer), with '+corrupted' when corrupted. */
  readonly how: string;
}

/** Flow text cases; `corruptShare` of them corrupted. Texts are single lines (no newline, no leading '#'). */
export const textCaseArb = (corruptShare = 0.08): fc.Arbitrary<TextCase> =>
  fc
    .tuple(fc.oneof({ weight: 3, arbitrary: writtenFlow.map((text) => ({ text, how: 'written' })) }, { weight: 1, arbitrary: printedFlow.map((text) => ({ text, how: 'printed' })) }), fc.integer({ min: 0, max: 99 }), corruption)
    .map(([c, r, corrupt]) => (r < corruptShare * 100 ? { text: corrupt(c.text), how: `${c.how}+corrupted` } : c))
    .map((c) => ({ ...c, text: c.text.replace(/[\r\n]/g, ' ').replace(/^\s*#/, 'x#') }))
    .filter((c) => c.text.trim() !== '');
