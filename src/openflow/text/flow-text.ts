// ovs-ofctl flow syntax for OpenFlow 1.3: `table=50,priority=20,arp,arp_tpa=10.0.0.1,actions=...` to a FlowMod,
// and FlowMods / flow stats back to the text `ovs-ofctl ofp-print` and `ovs-ofctl dump-flows` print.
import type { FlowMod, FlowStats, Instruction, Match } from '../types.js';
import { OFP_NO_BUFFER, OFPFC, OFPFF, OFPG, OFPP } from '../consts.js';
import { parseInstructions, type ActionParseContext } from './action-parse.js';
import { formatInstructions } from './action-format.js';
import { OFPVID_PRESENT } from '../oxm-fields.js';
import { parseDecimal, parseUint } from './field-value.js';
import { formatPort } from './port-text.js';
import { OFP_DEFAULT_PRIORITY, formatMatch, parseMatchTokens, splitMatchTokens, type MatchToken } from './match-text.js';

export { formatMatch, parseMatch, OFP_DEFAULT_PRIORITY } from './match-text.js';

/** Flow-mod flags by keyword, in the order ovs-ofctl prints them. */
const FLAG_KEYWORDS: readonly (readonly [string, number])[] = [
  ['send_flow_rem', OFPFF.SEND_FLOW_REM],
  ['check_overlap', OFPFF.CHECK_OVERLAP],
  ['reset_counts', OFPFF.RESET_COUNTS],
  ['no_packet_counts', OFPFF.NO_PKT_COUNTS],
  ['no_byte_counts', OFPFF.NO_BYT_COUNTS],
];
const FLAG_BY_KEYWORD = new Map(FLAG_KEYWORDS);

/** dump-flows statistics that ovs-ofctl ignores when they are fed back to it. */
const STATS_KEYWORDS = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);

const COMMAND_NAMES: Readonly<Record<number, string>> = {
  [OFPFC.ADD]: 'ADD',
  [OFPFC.MODIFY]: 'MOD',
  [OFPFC.MODIFY_STRICT]: 'MOD_STRICT',
  [OFPFC.DELETE]: 'DEL',
  [OFPFC.DELETE_STRICT]: 'DEL_STRICT',
};

const U64 = 0xffffffffffffffffn;

function uint(t: MatchToken, max: number): number {
  const n = t.value === undefined ? undefined : parseUint(t.value);
  if (n === undefined || n > BigInt(max)) throw new Error(`bad value '${t.value ?? ''}' for '${t.key}'`);
  return Number(n);
}

function u64(t: MatchToken, text: string): bigint {
  const n = parseUint(text);
  if (n === undefined || n > U64) throw new Error(`bad value '${t.value}' for '${t.key}'`);
  return n;
}

/** Splits off `actions=...` (everything after it, as ovs-ofctl does), accepting `action=` and `actions:` too. */
function splitActions(text: string): [string, string | undefined] {
  // ofp_extract_actions: the first "action" ends the match; the actions start after the next '=' (so "action=",
  // "actions=" and "actions.=" alike).
  const at = text.indexOf('action');
  if (at < 0) return [text, undefined];
  const eq = text.indexOf('=', at + 1);
  if (eq < 0) throw new Error(`'${text.slice(at)}': must specify an action (actions=...)`);
  return [text.slice(0, at), text.slice(eq + 1)];
}

/**
 * Parses a flow in ovs-ofctl syntax into an OFPFC_ADD FlowMod with ovs-ofctl's defaults (cookie 0, table 0,
 * priority 32768, no timeouts, no buffer, out_port/out_group ANY, no flags). Keywords: table, priority, cookie
 * (no mask: like ovs-ofctl, additions cannot use one), idle_timeout, hard_timeout, the flag keywords (out_port
 * and out_group, which select flows to modify or delete, are refused as ovs-ofctl refuses them in additions), any
 * match field or protocol shorthand, and `actions=` (the rest of the text). Errors name the offending token.
 */
export function parseFlow(text: string): FlowMod {
  const [matchText, actionText] = splitActions(text);
  const { match, rest } = parseMatchTokens(splitMatchTokens(matchText));
  const flow = {
    type: 'flow_mod' as const,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD as number,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: OFP_DEFAULT_PRIORITY,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY as number,
    outGroup: OFPG.ANY as number,
    flags: 0,
  };
  for (const t of rest) {
    const flag = FLAG_BY_KEYWORD.get(t.key);
    if (flag !== undefined) {
      if (t.value !== undefined) throw new Error(`'${t.key}' takes no value: '${t.token}'`);
      flow.flags |= flag;
      continue;
    }
    if (STATS_KEYWORDS.has(t.key)) continue;
    if (t.value === undefined) throw new Error(`unknown field '${t.key}'`);
    switch (t.key) {
      case 'table': {
        // ofputil_table_from_string: decimal only; 255 (all tables) means table 0 for an addition.
        const n = parseDecimal(t.value);
        if (n === undefined || n > 0xffn) throw new Error(`unknown table "${t.value}"`);
        flow.tableId = n === 0xffn ? 0 : Number(n);
        break;
      }
      case 'priority':
        flow.priority = uint(t, 0xffff);
        break;
      case 'idle_timeout':
        flow.idleTimeout = uint(t, 0xffff);
        break;
      case 'hard_timeout':
        flow.hardTimeout = uint(t, 0xffff);
        break;
      case 'cookie': {
        const slash = t.value.indexOf('/');
        // ovs-ofctl: a cookie mask selects flows to modify or delete; parseFlow makes additions.
        if (slash >= 0) throw new Error(`'${t.token}': flow additions cannot use a cookie mask`);
        flow.cookie = u64(t, t.value);
        break;
      }
      default:
        throw new Error(`unknown field '${t.key}'`);
    }
  }
  const instructions: Instruction[] = actionText === undefined ? [] : parseInstructions(actionText, actionContext(match));
  // One object literal with every property, not a spread of `flow`: spreading gave every parsed flow a hidden class
  // of its own, which makes each property read of the codec (and of any other consumer) megamorphic.
  return {
    type: 'flow_mod',
    cookie: flow.cookie,
    cookieMask: flow.cookieMask,
    tableId: flow.tableId,
    command: flow.command,
    idleTimeout: flow.idleTimeout,
    hardTimeout: flow.hardTimeout,
    priority: flow.priority,
    bufferId: flow.bufferId,
    outPort: flow.outPort,
    outGroup: flow.outGroup,
    flags: flow.flags,
    match,
    instructions,
  };
}

/**
 * What the actions need to know about the match (OVS's ofpacts_check reads it from the match's flow): the IP
 * protocol for mod_tp_*, and whether the packet has a VLAN tag (the match's vlan_vid / vlan_tci value has
 * OFPVID_PRESENT, the CFI bit) so mod_vlan_vid / mod_vlan_pcp push none.
 */
function actionContext(match: Match): ActionParseContext {
  let ipProto: number | undefined;
  let hasVlan = false;
  for (const f of match) {
    if (f.field === 'nw_proto' || f.field === 'NXM_OF_IP_PROTO') ipProto = f.value[0];
    else if (f.field === 'vlan_vid' || f.field === 'vlan_tci') hasVlan = (f.value[0]! & (OFPVID_PRESENT >> 8)) !== 0;
  }
  return ipProto === undefined ? { hasVlan } : { ipProto, hasVlan };
}

/** A flow-stats entry; idle/hard age are Nicira-only and not part of OpenFlow 1.3 flow stats. */
export type FlowStatsEntry = FlowStats;

/**
 * ofp_print_duration: seconds; then 3 decimals when the nanoseconds are whole milliseconds, else as many as they
 * need (nanoseconds without trailing zeros).
 */
export function duration(sec: number, nsec: number): string {
  if (nsec <= 0) return `${sec}s`;
  const msec = Math.floor(nsec / 1_000_000);
  if (msec * 1_000_000 === nsec) return `${sec}.${String(msec).padStart(3, '0')}s`;
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}s`;
}

function flagsText(flags: number): string {
  let s = '';
  for (const [name, bit] of FLAG_KEYWORDS) if (flags & bit) s += `${name} `;
  return s;
}

const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/**
 * The text ovs-ofctl prints for a flow:
 * - a flow-stats entry: one line of `ovs-ofctl -O OpenFlow13 dump-flows` without its leading space
 *   (`cookie=0x0, duration=1.5s, table=0, n_packets=0, n_bytes=0, priority=20,arp actions=drop`);
 * - a FlowMod: what `ovs-ofctl ofp-print` prints after the command (`table:50 priority=20,arp actions=drop`), with
 *   the command in front unless it is ADD (`DEL_STRICT priority=5,ip actions=drop`).
 */
export function formatFlow(flow: FlowMod | FlowStats): string {
  if ('durationSec' in flow) {
    let s = `cookie=${hex(flow.cookie)}, duration=${duration(flow.durationSec, flow.durationNsec)}, table=${flow.tableId}, `;
    // All-ones counters mean "unknown" (OFPFF_NO_PKT_COUNTS / NO_BYT_COUNTS): ovs-ofctl prints "?".
    const counter = (n: bigint): string => (n === U64 ? '?' : String(n));
    s += `n_packets=${counter(flow.packetCount)}, n_bytes=${counter(flow.byteCount)}, `;
    if (flow.idleTimeout) s += `idle_timeout=${flow.idleTimeout}, `;
    if (flow.hardTimeout) s += `hard_timeout=${flow.hardTimeout}, `;
    s += flagsText(flow.flags);
    const match = formatMatch(flow.match, flow.priority);
    return `${s}${match ? match + ' ' : ''}actions=${formatInstructions(flow.instructions)}`;
  }
  const parts: string[] = [];
  if (flow.command !== OFPFC.ADD) parts.push(COMMAND_NAMES[flow.command] ?? `cmd:${flow.command}`);
  if (flow.tableId !== 0) parts.push(`table:${flow.tableId}`);
  const match = formatMatch(flow.match, flow.priority);
  if (match) parts.push(match);
  // ovs-ofctl shows an ADD's cookie as the new cookie, and other commands' cookie only with a mask.
  if (flow.command === OFPFC.ADD) {
    if (flow.cookie !== 0n && flow.cookie !== U64) parts.push(`cookie:${hex(flow.cookie)}`);
  } else if (flow.cookieMask !== 0n) parts.push(`cookie:${hex(flow.cookie)}/${hex(flow.cookieMask)}`);
  if (flow.idleTimeout) parts.push(`idle:${flow.idleTimeout}`);
  if (flow.hardTimeout) parts.push(`hard:${flow.hardTimeout}`);
  if (flow.bufferId !== OFP_NO_BUFFER) parts.push(`buf:${hex(flow.bufferId)}`);
  if (flow.outPort !== OFPP.ANY) parts.push(`out_port:${formatPort(flow.outPort)}`);
  const flags = flagsText(flow.flags).trimEnd();
  if (flags) parts.push(flags);
  parts.push(`actions=${formatInstructions(flow.instructions)}`);
  return parts.join(' ');
}
