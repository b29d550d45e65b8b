// Messages as text, close to what `ovs-ofctl ofp-print` prints: a header line `OFPT_NAME (OF1.3) (xid=0x1):`
// followed by the body. Flow parts (matches, instructions, actions) come from flow-text.ts / action-text.ts.
import type { Bucket, Message, MessageOf, MessageType, MeterBand, Port } from '../types.js';
import { NX_VENDOR_ID, OFP_VERSION, OFPBCT, OFPC, OFPCR_ROLE, OFPCRR, OFPFC, OFPG, OFPGC, OFPGT, OFPM, OFPMBT, OFPMC, OFPMF, OFPMP, OFPP, OFPPR, OFPR, OFPRR, OFPTT } from '../consts.js';
import { errorName, NXET_VENDOR, ovsErrorName } from '../error-codes.js';
import { embeddedMessageText, printable, type EmbeddedFormat } from './embedded-message.js';
import { OFP_DEFAULT_PRIORITY, duration, formatFlow, formatMatch } from './flow-text.js';
import { formatActions } from './action-format.js';
import { encodeMessage } from '../message.js';
import { queueRates } from '../messages/queue.js';
import { formatPacket } from './packet-text.js';

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** The name of a constant in an `as const` table, or undefined. */
const nameOf = (table: Readonly<Record<string, number>>, v: number): string | undefined => Object.entries(table).find(([, x]) => x === v)?.[0];

/** Names of the bits set in `v`, per `table`; unknown bits as hex. */
function bitNames(table: Readonly<Record<string, number>>, v: number, sep = ' '): string {
  const names: string[] = [];
  let rest = v >>> 0;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (bit & (bit - 1)) === 0 && rest & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest) names.push(hex(rest >>> 0));
  return names.join(sep);
}

const VERSION_TAG: Readonly<Record<number, string>> = { 1: '', 2: ' (OF1.1)', 3: ' (OF1.2)', 4: ' (OF1.3)', 5: ' (OF1.4)', 6: ' (OF1.5)' };
const versionTag = (v: number): string => VERSION_TAG[v] ?? ` (OF 0x${v.toString(16).padStart(2, '0')})`;

/** The 16-bit port OVS keeps for a 32-bit one it accepted (ofputil_port_from_ofp11). */
const ovsPort16 = (port: number): number => (port >= 0xffffff00 ? port - 0xffff0000 : port);

/** OVS's own reserved port 0xfff7 ("no port set yet"), as 0xfffffff7 maps to it. */
const OFPP_UNSET = 0xfffffff7;

/**
 * A 32-bit port as OVS prints it: reserved ports by name; OVS maps the other ports from OFPP_MAX up to its 16-bit
 * numbers (ofputil_port_from_ofp11), so 0xffffff00 prints as 65280.
 */
function portName(port: number): string {
  const name = nameOf(OFPP, port);
  if (name && port > OFPP.MAX) return name;
  if (port === OFPP_UNSET) return 'UNSET';
  return String(port >= OFPP.MAX ? port - 0xffff0000 : port);
}


/** ovs-ofctl's hex dump: offset, 16 bytes with a '-' after the 8th, then (unless `ascii` is false) the printable characters. */
export function hexDump(data: Uint8Array, ascii = true): string {
  const lines: string[] = [];
  for (let off = 0; off < data.length; off += 16) {
    let hexPart = '';
    let text = '';
    for (let i = 0; i < 16; i++) {
      const b = data[off + i];
      hexPart += b === undefined ? '   ' : `${b.toString(16).padStart(2, '0')}${i === 7 ? '-' : ' '}`;
      text += b === undefined ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(ascii ? `${off.toString(16).padStart(8, '0')}  ${hexPart}|${text}|` : `${off.toString(16).padStart(8, '0')}  ${hexPart}`.trimEnd());
  }
  return lines.join('\n');
}

function dataSummary(data: Uint8Array): string {
  return data.length === 0 ? '' : ` ${data.length} bytes of payload`;
}

/**
 * A hello as ofp_print_hello reads it (ofputil_decode_hello) from the message's bytes (the codec keeps them all): the
 * versions of the first word of the last version bitmap, or without one every version up to the header's; then, if
 * any element is not a well-formed version bitmap, the whole message as unknown data.
 */
function helloText(b: Uint8Array): string {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = b[0]!;
  let allowed = version < 32 ? (((1 << version) >>> 0) - 1) * 2 : 0xfffffffe;
  let ok = true;
  for (let pos = 8; pos < b.length; ) {
    const len = b.length - pos >= 4 ? dv.getUint16(pos + 2) : 0;
    if (len < 4 || ((len + 7) & ~7) > b.length - pos) {
      ok = false;
      break;
    }
    const words = len - 4;
    if (dv.getUint16(pos) !== 1 || words === 0 || words % 4 !== 0) ok = false;
    else {
      // Bit 0 (no OpenFlow 0x00) cleared; a bitmap left empty is an error that keeps the versions before it.
      const versions = dv.getUint32(pos + 4) & ~1;
      if (versions) allowed = versions;
      else ok = false;
    }
    pos += (len + 7) & ~7;
  }
  const versions: string[] = [];
  for (let bit = 0; bit < 32; bit++) if (allowed & (1 << bit)) versions.push(`0x${bit.toString(16).padStart(2, '0')}`);
  return `\n version bitmap: ${versions.join(', ')}${ok ? '' : `\n unknown data in hello:\n${hexDump(b)}`}`;
}

/**
 * A group features action bitmap as OVS prints it (ofpact_bitmap_format): the OpenFlow 1.3 action bits OVS maps to
 * its own actions, by OVS's name and in its order; bits it has no action for (copy_ttl_*, *_pbb, unknown) are dropped.
 */
const GROUP_ACTION_ORDER: readonly (readonly [number, string])[] = [
  [0, 'output'],
  [22, 'group'],
  [25, 'set_field'],
  [18, 'strip_vlan'],
  [17, 'push_vlan'],
  [23, 'mod_nw_ttl'],
  [24, 'dec_ttl'],
  [15, 'set_mpls_ttl'],
  [16, 'dec_mpls_ttl'],
  [19, 'push_mpls'],
  [20, 'pop_mpls'],
  [21, 'set_queue'],
];
const groupActions = (bits: number): string => GROUP_ACTION_ORDER.filter(([bit]) => (bits >>> bit) & 1).map(([, name]) => name).join(' ') || '<none>';

/** A counter as print_port_stat prints it: UINT64_MAX means unknown. */
const stat = (n: bigint): string => (n === 0xffffffffffffffffn ? '?' : String(n));

/** An echo's payload: its size, and from verbosity 2 its hex dump. */
const payload = (data: Uint8Array, v: number): string => ` ${data.length} bytes of payload${data.length && v > 1 ? `\n${hexDump(data)}` : ''}`;

/** The frame in a packet-in or packet-out: from verbosity 1 its summary, from 3 its hex dump (ofp_packet_to_string). */
const packetText = (data: Uint8Array, v: number): string => (v > 0 ? `\n${formatPacket(data)}` : '') + (v > 2 && data.length ? `\n${hexDump(data, false)}` : '');

// ---- ports ------------------------------------------------------------------------------------------------------

const PORT_CONFIG = { PORT_DOWN: 1, NO_RECV: 4, NO_FWD: 32, NO_PACKET_IN: 64 };
const PORT_CONFIG_ALL = 0x65;
const PORT_STATE = { LINK_DOWN: 1, BLOCKED: 2, LIVE: 4 };
const PORT_FEATURES = {
  '10MB-HD': 1 << 0,
  '10MB-FD': 1 << 1,
  '100MB-HD': 1 << 2,
  '100MB-FD': 1 << 3,
  '1GB-HD': 1 << 4,
  '1GB-FD': 1 << 5,
  '10GB-FD': 1 << 6,
  '40GB-FD': 1 << 7,
  '100GB-FD': 1 << 8,
  '1TB-FD': 1 << 9,
  OTHER: 1 << 10,
  COPPER: 1 << 11,
  FIBER: 1 << 12,
  AUTO_NEG: 1 << 13,
  AUTO_PAUSE: 1 << 14,
  AUTO_PAUSE_ASYM: 1 << 15,
};

/** OVS keeps only the config, state and feature bits OpenFlow 1.1+ defines and prints those. */
const PORT_CONFIG_BITS = 0x65;
const PORT_STATE_BITS = 0x7;
const PORT_FEATURE_BITS = 0xffff;

function formatPort(p: Port): string {
  // ofputil_phy_port_format prints the name up to its first unprintable byte.
  const name = /^[\x20-\x7e]*/.exec(p.name)![0];
  const lines = [` ${portName(p.portNo)}(${name}): addr:${p.hwAddr}`];
  const config = p.config & PORT_CONFIG_BITS;
  const state = p.state & PORT_STATE_BITS;
  lines.push(`     config:     ${config ? bitNames(PORT_CONFIG, config) : '0'}`);
  lines.push(`     state:      ${state ? bitNames(PORT_STATE, state) : '0'}`);
  const features: [string, number][] = [
    ['current:   ', p.curr & PORT_FEATURE_BITS],
    ['advertised:', p.advertised & PORT_FEATURE_BITS],
    ['supported: ', p.supported & PORT_FEATURE_BITS],
    ['peer:      ', p.peer & PORT_FEATURE_BITS],
  ];
  for (const [label, v] of features) if (v) lines.push(`     ${label} ${bitNames(PORT_FEATURES, v)}`);
  lines.push(`     speed: ${Math.floor(p.currSpeed / 1000)} Mbps now, ${Math.floor(p.maxSpeed / 1000)} Mbps max`);
  return lines.join('\n');
}

// ---- flows --------------------------------------------------------------------------------------------------------

/** ofp-print shows every flow_mod command; formatFlow leaves out ADD. */
const flowModText = (m: MessageOf<'flow_mod'>): string => ` ${m.command === OFPFC.ADD ? 'ADD ' : ''}${formatFlow(m)}`;

/**
 * ofputil_flow_stats_request_format: table, out_port and the match (printed at the default priority, so without
 * one). ofp-print leaves out out_group and the cookie, and so does this.
 */
function flowStatsRequestText(m: MessageOf<'flow_stats_request'> | MessageOf<'aggregate_stats_request'>): string {
  const parts: string[] = [];
  if (m.tableId !== OFPTT.ALL) parts.push(`table=${m.tableId}`);
  if (m.outPort !== OFPP.ANY) parts.push(`out_port=${portName(m.outPort)}`);
  const match = formatMatch(m.match, OFP_DEFAULT_PRIORITY);
  if (match) parts.push(match);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

// ---- groups and meters --------------------------------------------------------------------------------------------

const GROUP_COMMANDS: Readonly<Record<number, string>> = { [OFPGC.ADD]: 'ADD', [OFPGC.MODIFY]: 'MOD', [OFPGC.DELETE]: 'DEL', 3: 'INSERT_BUCKET', 5: 'REMOVE_BUCKET', 0x8000: 'ADD_OR_MOD' };
const GROUP_TYPES: Readonly<Record<number, string>> = { [OFPGT.ALL]: 'all', [OFPGT.SELECT]: 'select', [OFPGT.INDIRECT]: 'indirect', [OFPGT.FF]: 'ff' };

function formatBuckets(groupType: number, buckets: readonly Bucket[]): string {
  return buckets
    .map((b) => {
      const parts: string[] = [];
      if (b.weight !== (groupType === OFPGT.SELECT ? 1 : 0)) parts.push(`weight:${b.weight}`);
      if (b.watchPort !== OFPP.ANY) parts.push(`watch_port:${portName(b.watchPort)}`);
      if (b.watchGroup !== 0xffffffff) parts.push(`watch_group:${b.watchGroup}`);
      parts.push(`actions=${b.actions.length ? formatActions(b.actions) : 'drop'}`);
      return `,bucket=${parts.join(',')}`;
    })
    .join('');
}

const groupText = (groupId: number, groupType: number, buckets: readonly Bucket[]): string =>
  `group_id=${groupId},type=${GROUP_TYPES[groupType] ?? 'unknown'}${formatBuckets(groupType, buckets)}`;

function formatBand(b: MeterBand, meterFlags: number): string {
  const type = b.type === OFPMBT.DROP ? 'drop' : b.type === OFPMBT.DSCP_REMARK ? 'dscp_remark' : b.type === OFPMBT.EXPERIMENTER ? 'experimenter' : `${b.type}`;
  let s = `type=${type} rate=${b.rate}`;
  if (meterFlags & OFPMF.BURST) s += ` burst_size=${b.burstSize}`;
  if (b.precLevel !== undefined) s += ` prec_level=${b.precLevel}`;
  if (b.experimenter !== undefined) s += ` experimenter=${hex(b.experimenter)}`;
  return s;
}

const METER_COMMANDS: Readonly<Record<number, string>> = { [OFPMC.ADD]: 'ADD', [OFPMC.MODIFY]: 'MOD', [OFPMC.DELETE]: 'DEL' };
/** ofputil_format_meter_config: each known flag followed by a space, then unknown bits as flags:0x.. */
function meterFlags(flags: number): string {
  let s = '';
  for (const [name, bit] of Object.entries(METER_FLAGS)) if (flags & bit) s += `${name} `;
  const unknown = flags & ~0xf;
  return unknown ? `${s}flags:0x${unknown.toString(16)} ` : s;
}

const METER_FLAGS = { kbps: OFPMF.KBPS, pktps: OFPMF.PKTPS, burst: OFPMF.BURST, stats: OFPMF.STATS };
/** ofputil_format_meter_id: a number up to OFPM_MAX, the three virtual meters by name, anything else 'unknown'. */
const meterId = (id: number): string =>
  id <= OFPM.MAX ? String(id) : id === OFPM.ALL ? 'all' : id === OFPM.CONTROLLER ? 'controller' : id === OFPM.SLOWPATH ? 'slowpath' : 'unknown';

// ---- per-type bodies ------------------------------------------------------------------------------------------------

/** A duration_sec of UINT32_MAX means "not known": OVS leaves the duration out. */
const UNKNOWN_DURATION = 0xffffffff;

const ROLES: Readonly<Record<number, string>> = { [OFPCR_ROLE.NOCHANGE]: 'nochange', [OFPCR_ROLE.EQUAL]: 'equal', [OFPCR_ROLE.MASTER]: 'primary', [OFPCR_ROLE.SLAVE]: 'secondary' };
const FRAGS: Readonly<Record<number, string>> = { 0: 'normal', 1: 'drop', 2: 'reassemble', 3: 'nx-match' };
const CAPABILITIES = {
  FLOW_STATS: OFPC.FLOW_STATS,
  TABLE_STATS: OFPC.TABLE_STATS,
  PORT_STATS: OFPC.PORT_STATS,
  GROUP_STATS: OFPC.GROUP_STATS,
  IP_REASM: OFPC.IP_REASM,
  QUEUE_STATS: OFPC.QUEUE_STATS,
  PORT_BLOCKED: OFPC.PORT_BLOCKED,
};
/** The OpenFlow 1.3 capability bits; OVS drops the others when it decodes features. */
const CAPABILITY_BITS = Object.values(CAPABILITIES).reduce((a, b) => a | b, 0);
const PACKET_IN_REASONS: Readonly<Record<number, string>> = { [OFPR.NO_MATCH]: 'no_match', [OFPR.ACTION]: 'action', [OFPR.INVALID_TTL]: 'invalid_ttl' };
const FLOW_REMOVED_REASONS: Readonly<Record<number, string>> = { [OFPRR.IDLE_TIMEOUT]: 'idle', [OFPRR.HARD_TIMEOUT]: 'hard', [OFPRR.DELETE]: 'delete', [OFPRR.GROUP_DELETE]: 'group_delete' };
const PORT_REASONS: Readonly<Record<number, string>> = { [OFPPR.ADD]: 'ADD', [OFPPR.DELETE]: 'DEL', [OFPPR.MODIFY]: 'MOD' };

const ASYNC_FLOW_REMOVED: Readonly<Record<number, string>> = { ...FLOW_REMOVED_REASONS, 4: 'meter_delete', 5: 'eviction' };

function asyncText(m: MessageOf<'set_async'> | MessageOf<'get_async_reply'>): string {
  const lines: string[] = [];
  const role = (i: 0 | 1, label: string): void => {
    lines.push(` ${label}:`);
    // OVS keeps only the reasons each event has in OpenFlow 1.3 (flow removal: up to eviction, from 1.4).
    lines.push(`       PACKET_IN: ${bitList(PACKET_IN_REASONS, m.packetInMask[i] & 0x7)}`);
    lines.push(`     PORT_STATUS: ${bitList({ 0: 'add', 1: 'delete', 2: 'modify' }, m.portStatusMask[i] & 0x7)}`);
    lines.push(`    FLOW_REMOVED: ${bitList(ASYNC_FLOW_REMOVED, m.flowRemovedMask[i] & 0x3f)}`);
    // OF1.4+ async events that ovs-ofctl lists even for 1.3.
    lines.push('     ROLE_STATUS: (off)', '    TABLE_STATUS: (off)', '  REQUESTFORWARD: (off)');
  };
  role(0, 'primary');
  lines.push('');
  role(1, 'secondary');
  return `\n${lines.join('\n')}`;
}

/** Names of the set bits of `mask`, where bit i is named by names[i]. */
function bitList(names: Readonly<Record<number, string>>, mask: number): string {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) if (mask & (1 << i)) out.push(names[i] ?? `${i}`);
  return out.length ? out.join(' ') : '(off)';
}

/** A message body as text at a verbosity (ovs-ofctl ofp-print's: 0 the least, 2 its default). */
type Formatter<T extends MessageType> = (m: MessageOf<T>, verbosity: number) => string;

/** One body formatter per message type; the header line is common. */
const BODY: { readonly [T in MessageType]: Formatter<T> } = {
  hello: (m) => helloText(new Uint8Array(encodeMessage(m))),
  // ofperr_msg_format: OVS's name, then the data as a message of its own at verbosity 1 (text for the hello errors).
  error: (m) => {
    const data = m.errType === NXET_VENDOR && m.code === 0 ? m.data.subarray(8) : m.data;
    const name = ovsErrorName(m.errType, m.code, m.experimenter, vendorErrorOf(m.data)) ?? errorName(m.errType, m.code, m.experimenter);
    const text = name === 'OFPHFC_INCOMPATIBLE' || name === 'OFPHFC_EPERM' ? printable(data) : embeddedMessageText(data, 1, EMBEDDED);
    return ` ${name}\n${text}`;
  },
  echo_request: (m, v) => payload(m.data, v),
  echo_reply: (m, v) => payload(m.data, v),
  experimenter: (m) => ` experimenter=${hex(m.experimenter)} exp_type=${m.expType}${m.experimenter === NX_VENDOR_ID ? ' (Nicira)' : ''}${dataSummary(m.data)}`,
  features_request: () => '',
  features_reply: (m) =>
    ` dpid:${m.datapathId.toString(16).padStart(16, '0')}\nn_tables:${m.nTables}, n_buffers:${m.nBuffers}${m.auxiliaryId ? `, auxiliary_id:${m.auxiliaryId}` : ''}\ncapabilities: ${bitNames(CAPABILITIES, m.capabilities & CAPABILITY_BITS) || '0'}`,
  get_config_request: () => '',
  get_config_reply: (m) => ` frags=${FRAGS[m.flags & 3]} miss_send_len=${m.missSendLen}`,
  set_config: (m) => ` frags=${FRAGS[m.flags & 3]} miss_send_len=${m.missSendLen}`,
  // ofputil_packet_in_private_format: table_id unless 0, cookie unless all-ones, the metadata match, then the frame.
  packet_in: (m, v) => {
    const match = formatMatch(m.match);
    const unbuffered = m.bufferId === 0xffffffff;
    const buffered = unbuffered
      ? `(unbuffered)${m.totalLen !== m.data.length ? ' (***total_len != data_len***)' : ''}`
      : `buffer=0x${m.bufferId.toString(16).padStart(8, '0')}${m.totalLen < m.data.length ? ' (***total_len < data_len***)' : ''}`;
    const head = `${m.tableId ? ` table_id=${m.tableId}` : ''}${m.cookie === 0xffffffffffffffffn ? '' : ` cookie=${hex(m.cookie)}`}`;
    return `${head} total_len=${m.totalLen} ${match} (via ${PACKET_IN_REASONS[m.reason] ?? m.reason}) data_len=${m.data.length} ${buffered}${packetText(m.data, v)}`;
  },

  flow_removed: (m) =>
    ` ${formatMatch(m.match, m.priority)} reason=${ASYNC_FLOW_REMOVED[m.reason] ?? m.reason}${m.tableId === 255 ? '' : ` table_id=${m.tableId}`}${m.cookie ? ` cookie:${hex(m.cookie)}` : ''} duration${duration(m.durationSec, m.durationNsec)} idle${m.idleTimeout}${m.hardTimeout ? ` hard${m.hardTimeout}` : ''} pkts${m.packetCount} bytes${m.byteCount}`,
  port_status: (m) => ` ${PORT_REASONS[m.reason] ?? m.reason}:${formatPort(m.port)}`,
  // ofputil_packet_out_format: the frame only when it is in the message (unbuffered).
  packet_out: (m, v) =>
    ` in_port=${portName(m.inPort)} actions=${m.actions.length ? formatActions(m.actions) : 'drop'}` +
    (m.bufferId === 0xffffffff ? ` data_len=${m.data.length}${m.data.length ? packetText(m.data, v) : ''}` : ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`),
  flow_mod: flowModText,
  // The bucket commands (OpenFlow 1.5's, which OVS reads in any version) print no group type.
  group_mod: (m) =>
    `\n ${GROUP_COMMANDS[m.command] ?? `cmd:${m.command}`} ${m.command === 3 || m.command === 5 ? `group_id=${m.groupId}${formatBuckets(m.groupType, m.buckets)}` : groupText(m.groupId, m.groupType, m.buckets)}`,
  port_mod: (m) => {
    // ofputil_decode_port_mod keeps the config bits the mask selects, the bits OpenFlow 1.1+ names (OFPPC11_ALL), and
    // the advertised features OVS knows (the low 16 bits).
    const mask = m.mask & PORT_CONFIG_ALL;
    const config = m.config & mask;
    const advertise = m.advertise & 0xffff;
    return ` port: ${portName(m.portNo)}: addr:${m.hwAddr}\n     config: ${config ? bitNames(PORT_CONFIG, config) : '0'}\n     mask:   ${mask ? bitNames(PORT_CONFIG, mask) : '0'}\n     advertise: ${advertise ? bitNames(PORT_FEATURES, advertise) : 'UNCHANGED'}`;
  },
  // ofputil_table_mod_format; an OF1.3 table_mod's config carries nothing OVS prints (miss and eviction are OF1.1/1.4).
  table_mod: (m) => (m.tableId === OFPTT.ALL ? ' table_id: ALL_TABLES' : ` table_id=${m.tableId}`),
  desc_request: () => '',
  desc_reply: (m) => `\nManufacturer: ${m.mfrDesc}\nHardware: ${m.hwDesc}\nSoftware: ${m.swDesc}\nSerial Num: ${m.serialNum}\nDP Description: ${m.dpDesc}`,
  flow_stats_request: flowStatsRequestText,
  flow_stats_reply: (m) => m.flows.map((f) => `\n ${formatFlow(f)}`).join(''),
  aggregate_stats_request: flowStatsRequestText,
  aggregate_stats_reply: (m) => ` packet_count=${m.packetCount} byte_count=${m.byteCount} flow_count=${m.flowCount}`,
  table_stats_request: () => '',
  table_stats_reply: (m) => m.tables.map((t) => `\n  table ${t.tableId}:\n    active=${t.activeCount}, lookup=${t.lookupCount}, matched=${t.matchedCount}`).join('\n'),
  port_stats_request: (m) => ` port_no=${portName(m.portNo)}`,
  // print_port_stat: UINT64_MAX is an unknown counter ("?"); an unknown port duration is left out, a queue's is "?".
  port_stats_reply: (m, v) =>
    ` ${m.ports.length} ports` +
    (v < 1
      ? ''
      : m.ports
          .map(
            (p) =>
              `\n  port ${portName(p.portNo).padStart(2)}: rx pkts=${stat(p.rxPackets)}, bytes=${stat(p.rxBytes)}, drop=${stat(p.rxDropped)}, errs=${stat(p.rxErrors)}, frame=${stat(p.rxFrameErr)}, over=${stat(p.rxOverErr)}, crc=${stat(p.rxCrcErr)}` +
              `\n           tx pkts=${stat(p.txPackets)}, bytes=${stat(p.txBytes)}, drop=${stat(p.txDropped)}, errs=${stat(p.txErrors)}, coll=${stat(p.collisions)}` +
              (p.durationSec === UNKNOWN_DURATION ? '' : `\n           duration=${duration(p.durationSec, p.durationNsec)}`),
          )
          .join('')),
  queue_stats_request: (m) => ` port=${portName(m.portNo)} queue=${m.queueId === 0xffffffff ? 'ALL' : m.queueId}`,
  queue_stats_reply: (m, v) =>
    ` ${m.queues.length} queues` +
    (v < 1
      ? ''
      : m.queues
          .map(
            (q) =>
              `\n  port ${portName(q.portNo)} queue ${q.queueId === 0xffffffff ? 'ALL' : q.queueId}: bytes=${stat(q.txBytes)}, pkts=${stat(q.txPackets)}, errors=${stat(q.txErrors)}, duration=${q.durationSec === UNKNOWN_DURATION ? '?' : duration(q.durationSec, q.durationNsec)}`,
          )
          .join('')),
  group_stats_request: (m) => ` group_id=${m.groupId === OFPG.ALL ? 'ALL' : m.groupId === OFPG.ANY ? 'ANY' : m.groupId}`,
  group_stats_reply: (m) =>
    m.groups
      .map(
        (g) =>
          `\n group_id=${g.groupId}${g.durationSec === UNKNOWN_DURATION ? '' : `,duration=${duration(g.durationSec, g.durationNsec)}`},ref_count=${g.refCount},packet_count=${g.packetCount},byte_count=${g.byteCount}` +
          // A bucket whose packet count is UINT64_MAX (unknown) is not printed; the others keep their index.
          g.buckets.map((b, i) => (b.packetCount === 0xffffffffffffffffn ? '' : `,bucket${i}:packet_count=${b.packetCount},byte_count=${b.byteCount}`)).join(''),
      )
      .join(''),
  group_desc_request: () => ' group_id=ALL',
  group_desc_reply: (m) => m.groups.map((g) => `\n ${groupText(g.groupId, g.groupType, g.buckets)}`).join(''),
  group_features_request: () => '',
  group_features_reply: (m) =>
    `\n Group table:\n    Types:  ${hex(m.types)}\n    Capabilities:  ${hex(m.capabilities)}` +
    ['all', 'select', 'indirect', 'fast failover']
      .map((name, i) => (m.types & (1 << i) ? `\n    ${name} group:\n       max_groups=${m.maxGroups[i as 0] ? hex(m.maxGroups[i as 0]!) : '0'}\n       actions: ${groupActions(m.actions[i as 0]!)}` : ''))
      .join(''),
  meter_stats_request: (m) => ` meter=${meterId(m.meterId)}`,
  // Each meter after a newline, each band line ending in one: a blank line between meters (ofp_print_meter_stats).
  meter_stats_reply: (m) =>
    m.meters
      .map(
        (s) =>
          `\nmeter:${meterId(s.meterId)} flow_count:${s.flowCount} packet_in_count:${s.packetInCount} byte_in_count:${s.byteInCount} duration:${duration(s.durationSec, s.durationNsec)} bands:` +
          s.bands.map((b, i) => `\n${i}: packet_count:${b.packetBandCount} byte_count:${b.byteBandCount}`).join(''),
      )
      .join('\n'),
  meter_config_request: (m) => ` meter=${meterId(m.meterId)}`,
  meter_config_reply: (m) => m.meters.map((c) => `\nmeter=${meterId(c.meterId)} ${meterFlags(c.flags)}bands=${c.bands.map((b) => `\n${formatBand(b, c.flags)}`).join('')}`).join('\n'),
  meter_features_request: () => '',
  meter_features_reply: (m) =>
    `\nmax_meter:${m.maxMeter} max_bands:${m.maxBands} max_color:${m.maxColor}\nband_types: ${bitNames({ drop: 1 << OFPMBT.DROP, dscp_remark: 1 << OFPMBT.DSCP_REMARK }, m.bandTypes) || '0'}\ncapabilities: ${bitNames(METER_FLAGS, m.capabilities) || '0'}`,
  table_features_request: (m) => m.tables.map((t) => `\n  table ${t.tableId} ("${t.name}"): max_entries=${t.maxEntries}, ${t.properties.length} properties`).join(''),
  table_features_reply: (m) => m.tables.map((t) => `\n  table ${t.tableId} ("${t.name}"): max_entries=${t.maxEntries}, ${t.properties.length} properties`).join(''),
  port_desc_request: () => ' port=ANY',
  // ofputil_phy_ports_format sorts by OVS's 16-bit port number (reserved ports 0xffffff00.. map to 0xff00..).
  port_desc_reply: (m) => [...m.ports].sort((a, b) => ovsPort16(a.portNo) - ovsPort16(b.portNo)).map((p) => `\n${formatPort(p)}`).join(''),
  experimenter_stats_request: (m) => ` experimenter=${hex(m.experimenter)} exp_type=${m.expType}${dataSummary(m.data)}`,
  experimenter_stats_reply: (m) => ` experimenter=${hex(m.experimenter)} exp_type=${m.expType}${dataSummary(m.data)}`,
  barrier_request: () => '',
  barrier_reply: () => '',
  queue_get_config_request: (m) => ` port=${portName(m.port)}`,
  // ofputil_queue_get_config_reply_format: the queues by id, under the reply's port (not printed when it is 0).
  queue_get_config_reply: (m) => {
    if (m.queues.length === 0) return '';
    const queues = [...m.queues].sort((a, b) => a.queueId - b.queueId);
    const rate = (name: string, r: number): string => (r <= 1000 ? ` ${name}:${Math.floor(r / 10)}.${r % 10}%` : r < 0xffff ? ` ${name}:(disabled)` : '');
    const lines = queues.map((q) => {
      const { min, max } = queueRates(q);
      return `queue ${q.queueId}:${rate('min_rate', min)}${rate('max_rate', max)}`;
    });
    return ` ${m.port === 0 ? '' : `port=${portName(m.port)}\n`}${lines.join('\n')}`;
  },
  // A generation id of UINT64_MAX means none (ofputil_decode_role_message).
  role_request: (m) => ` role=${ROLES[m.role] ?? m.role}${m.role === OFPCR_ROLE.NOCHANGE || m.generationId === 0xffffffffffffffffn ? '' : ` generation_id=${m.generationId}`}`,
  // A reply has a generation id whatever its role; UINT64_MAX still means none.
  role_reply: (m) => ` role=${ROLES[m.role] ?? m.role}${m.generationId === 0xffffffffffffffffn ? '' : ` generation_id=${m.generationId}`}`,
  get_async_request: () => '',
  get_async_reply: asyncText,
  set_async: asyncText,
  // OVS ignores the flags and bands of a DELETE.
  meter_mod: (m) =>
    m.command === OFPMC.DELETE
      ? ` DEL meter=${meterId(m.meterId)} bands=`
      : ` ${METER_COMMANDS[m.command] ?? `cmd:${m.command}`} meter=${meterId(m.meterId)} ${meterFlags(m.flags)}bands=${m.bands.map((b) => `\n${formatBand(b, m.flags)}`).join('')}`,
  bundle_control: (m) => `\n bundle_id=${bundleId(m.bundleId)} type=${nameOf(OFPBCT, m.ctrlType) ?? ''} flags=${bundleFlags(m.bundleFlags)}`,
  // ofputil_format_bundle_add: the embedded message as ofp_to_string prints it at the same verbosity.
  bundle_add: (m, v) =>
    `\n bundle_id=${bundleId(m.bundleId)} flags=${bundleFlags(m.bundleFlags)}\n${embeddedMessageText(m.message instanceof Uint8Array ? m.message : new Uint8Array(encodeMessage(m.message)), v, EMBEDDED)}`,
  role_status: (m, v) => `${BODY.role_reply({ ...m, type: 'role_reply' }, v)} reason=${ROLE_REASONS[m.reason] ?? '(unknown)'}`,
  // The forwarded request's body as its own message prints it, without its header line.
  requestforward: (m, v) => ` reason=${m.message.type}${(BODY[m.message.type] as Formatter<MessageType>)(m.message, v)}`,
  flow_monitor_cancel: (m) => ` id=${m.id}`,
  flow_monitor_paused: () => '',
  flow_monitor_resumed: () => '',
};

const ROLE_REASONS: Readonly<Record<number, string>> = { [OFPCRR.MASTER_REQUEST]: 'primary_request', [OFPCRR.CONFIG]: 'configuration_changed', [OFPCRR.EXPERIMENTER]: 'experimenter_data_changed' };

/** The ONF extension messages, named as ovs-ofctl names them. */
const ONF_NAMES: Readonly<Partial<Record<MessageType, string>>> = {
  bundle_control: 'ONFT_BUNDLE_CONTROL',
  bundle_add: 'ONFT_BUNDLE_ADD_MESSAGE',
  role_status: 'ONFT_ROLE_STATUS',
  requestforward: 'ONFT_REQUESTFORWARD',
  flow_monitor_cancel: 'ONFT_FLOW_MONITOR_CANCEL',
  flow_monitor_paused: 'ONFT_FLOW_MONITOR_PAUSED',
  flow_monitor_resumed: 'ONFT_FLOW_MONITOR_RESUMED',
};

/** printf's %#x: no 0x before a zero. */
const bundleId = (id: number): string => (id === 0 ? '0' : hex(id));

const bundleFlags = (f: number): string => bitNames({ atomic: 1, ordered: 2 }, f) || '0';

const MP_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(OFPMP).map(([name, v]) => [v, name === 'PORT_STATS' ? 'PORT' : name]));

/** 'OFPT_FLOW_MOD', 'OFPST_FLOW reply', 'ONFT_BUNDLE_CONTROL'... as ovs-ofctl names messages. */
export function messageName(m: Message): string {
  const onf = ONF_NAMES[m.type];
  if (onf !== undefined) return onf;
  const mpType = MULTIPART_KEYS[m.type];
  if (mpType !== undefined) return `OFPST_${MP_NAMES[mpType]} ${m.type.endsWith('_request') ? 'request' : 'reply'}`;
  return `OFPT_${m.type.toUpperCase()}`;
}

const MULTIPART_KEYS: Readonly<Record<string, number>> = {
  desc_request: OFPMP.DESC,
  desc_reply: OFPMP.DESC,
  flow_stats_request: OFPMP.FLOW,
  flow_stats_reply: OFPMP.FLOW,
  aggregate_stats_request: OFPMP.AGGREGATE,
  aggregate_stats_reply: OFPMP.AGGREGATE,
  table_stats_request: OFPMP.TABLE,
  table_stats_reply: OFPMP.TABLE,
  port_stats_request: OFPMP.PORT_STATS,
  port_stats_reply: OFPMP.PORT_STATS,
  queue_stats_request: OFPMP.QUEUE,
  queue_stats_reply: OFPMP.QUEUE,
  group_stats_request: OFPMP.GROUP,
  group_stats_reply: OFPMP.GROUP,
  group_desc_request: OFPMP.GROUP_DESC,
  group_desc_reply: OFPMP.GROUP_DESC,
  group_features_request: OFPMP.GROUP_FEATURES,
  group_features_reply: OFPMP.GROUP_FEATURES,
  meter_stats_request: OFPMP.METER,
  meter_stats_reply: OFPMP.METER,
  meter_config_request: OFPMP.METER_CONFIG,
  meter_config_reply: OFPMP.METER_CONFIG,
  meter_features_request: OFPMP.METER_FEATURES,
  meter_features_reply: OFPMP.METER_FEATURES,
  table_features_request: OFPMP.TABLE_FEATURES,
  table_features_reply: OFPMP.TABLE_FEATURES,
  port_desc_request: OFPMP.PORT_DESC,
  port_desc_reply: OFPMP.PORT_DESC,
  experimenter_stats_request: OFPMP.EXPERIMENTER,
  experimenter_stats_reply: OFPMP.EXPERIMENTER,
};

const vendorErrorOf = (d: Uint8Array): [number, number, number] | undefined =>
  d.length >= 8 ? [((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0, (d[4]! << 8) | d[5]!, (d[6]! << 8) | d[7]!] : undefined;

const EMBEDDED: EmbeddedFormat = {
  message: (m, v, bytes) => formatMessage(m, v, bytes),
  header: (what, version, xid, flags) => `${'name' in what ? what.name : messageName(what as Message)}${versionTag(version)} (xid=${hex(xid)}):${flags ? ` flags=${multipartFlags(flags)}` : ''}`,
  hexDump,
};

/** ofpmp_flags as ofp_print prints them: [more], then any other bit as unknown. */
function multipartFlags(flags: number): string {
  const rest = flags & ~1;
  return `${flags & 1 ? '[more]' : ''}${rest ? `[***unknown flags 0x${rest.toString(16).padStart(4, '0')}***]` : ''}`;
}

/**
 * The message as `ovs-ofctl ofp-print HEX VERBOSITY` prints it (several lines for some messages): verbosity 0 leaves
 * out the packet of a packet-in/out and per-port/queue stats, 1 adds the packet's summary, 2 (the default, as
 * ofp-print) the hex of an echo's payload, 3 the hex of the packet; from 5, the hex dump of `bytes` (the message as
 * received) follows.
 */
export function formatMessage(m: Message, verbosity = 2, bytes?: Uint8Array): string {
  const version = m.type === 'hello' ? m.version : m.type === 'error' ? (m.version ?? OFP_VERSION) : OFP_VERSION;
  const flags = MULTIPART_KEYS[m.type] !== undefined && 'flags' in m && m.flags ? ` flags=${multipartFlags(m.flags)}` : '';
  const body = (BODY[m.type] as Formatter<MessageType>)(m, verbosity);
  const dump = verbosity >= 5 && bytes ? `\n${hexDump(bytes)}` : '';
  return `${messageName(m)}${versionTag(version)} (xid=${hex(m.xid)}):${flags}${body}${dump}`;
}
