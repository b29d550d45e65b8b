// The match fields and field references the pipeline uses, built with the codec's field registry
// (src/openflow/oxm-fields.ts): OxmFields carry the registry's names ('eth_dst', 'nw_proto', 'ip_dst', 'tun_dst'),
// exactly what the codec decodes from a switch, so desired and installed flows compare equal field by field.
// Callers use the OpenFlow names below; `oxm` maps them (and checks the value's width).
import { fieldByName, nxmCodePoint, oxm as codecOxm, type FieldInfo, type FieldRef, type Match, type OxmField } from '../openflow/index.js';

export type FieldName =
  | 'in_port'
  | 'eth_dst'
  | 'eth_src'
  | 'eth_type'
  | 'ip_proto'
  | 'ipv4_src'
  | 'ipv4_dst'
  | 'udp_src'
  | 'udp_dst'
  | 'arp_op'
  | 'arp_spa'
  | 'arp_tpa'
  | 'arp_sha'
  | 'arp_tha'
  | 'tun_id'
  | 'tun_ipv4_dst'
  | 'reg0'
  | 'reg1'
  | 'reg2'
  | 'ct_state'
  | 'conj_id'
  | 'tcp_dst'
  | 'icmp_type'
  | 'icmp_code';

const ORDER: readonly FieldName[] = [
  'in_port',
  'tun_id',
  'tun_ipv4_dst',
  'eth_dst',
  'eth_src',
  'eth_type',
  'ip_proto',
  'ipv4_src',
  'ipv4_dst',
  'udp_src',
  'udp_dst',
  'arp_op',
  'arp_spa',
  'arp_tpa',
  'arp_sha',
  'arp_tha',
  'reg0',
  'reg1',
  'reg2',
  'ct_state',
  'conj_id',
  'tcp_dst',
  'icmp_type',
  'icmp_code',
];

/** The codec registry's alias for NXM_NX_TUN_IPV4_DST is 'tun_dst' (as in ovs-fields(7)). */
const REGISTRY_ALIAS: Partial<Record<FieldName, string>> = { tun_ipv4_dst: 'tun_dst' };

function info(name: FieldName): FieldInfo {
  const i = fieldByName(REGISTRY_ALIAS[name] ?? name);
  if (!i) throw new Error(`field '${name}' is not in the codec's registry`);
  return i;
}

const INFO = new Map(ORDER.map((n) => [n, info(n)] as const));
/**
 * Registry name -> position in Open vSwitch's wire order (the codec's `rank`): a match lists its fields as OVS sends
 * them, so every prerequisite precedes what needs it and a flow decoded from the switch has the same field order.
 */
const RANK = new Map(ORDER.map((n) => [INFO.get(n)!.name, INFO.get(n)!.rank] as const));

/** The codec registry's name for one of ours (what OxmField.field holds). */
export function registryName(name: FieldName): string {
  return INFO.get(name)!.name;
}

export function fieldWidth(name: FieldName): number {
  return INFO.get(name)!.length;
}

/** One match field / set_field payload (the codec's builder). Byte values are kept, not copied: share them. */
export function oxm(field: FieldName, value: Uint8Array, mask?: Uint8Array): OxmField {
  return codecOxm(INFO.get(field)!.name, value, mask);
}

/** A match with its fields in prerequisite order (OVS rejects an OXM whose prerequisite comes later). */
export function match(...fields: OxmField[]): Match {
  for (let i = 1; i < fields.length; i++) {
    if (rank(fields[i - 1]!) > rank(fields[i]!)) return [...fields].sort(byRank);
  }
  return fields;
}

function rank(f: OxmField): number {
  const r = RANK.get(f.field);
  if (r === undefined) throw new Error(`field '${f.field}' is not used by the pipeline`);
  return r;
}

function byRank(a: OxmField, b: OxmField): number {
  return rank(a) - rank(b);
}

/** Field references for Nicira move/load: the field's NXM code point, as ovs-ofctl encodes `move:NXM_...[]`. */
function ref(name: FieldName): FieldRef {
  const nxm = nxmCodePoint(INFO.get(name)!);
  return { field: nxm.name, header: nxm.header };
}

export const FIELD_REFS = {
  eth_dst: ref('eth_dst'),
  eth_src: ref('eth_src'),
  arp_op: ref('arp_op'),
  arp_spa: ref('arp_spa'),
  arp_tpa: ref('arp_tpa'),
  tun_id: ref('tun_id'),
  arp_sha: ref('arp_sha'),
  arp_tha: ref('arp_tha'),
  tun_ipv4_dst: ref('tun_ipv4_dst'),
  reg0: ref('reg0'),
  reg1: ref('reg1'),
  reg2: ref('reg2'),
  ipv4_src: ref('ipv4_src'),
  ipv4_dst: ref('ipv4_dst'),
} as const;

// --- value encoders (network byte order) --------------------------------------------------------------------------

export function u8(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff);
}

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function u64(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = BigInt(n);
  for (let i = 7; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

export function macBytes(mac: string): Uint8Array {
  if (mac.length !== 17) throw new Error(`bad MAC '${mac}'`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const n = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
    if (Number.isNaN(n) || (i < 5 && mac[i * 3 + 2] !== ':')) throw new Error(`bad MAC '${mac}'`);
    out[i] = n;
  }
  return out;
}

export const ETH_TYPE = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
export const IP_PROTO = { ICMP: 1, TCP: 6, UDP: 17 } as const;

/** ct_state bits (ovs-fields(7)). */
export const CT = { NEW: 0x01, EST: 0x02, REL: 0x04, RPL: 0x08, INV: 0x10, TRK: 0x20 } as const;
export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;

/** dl_dst=01:00:00:00:00:00/01:00:00:00:00:00: the group bit, i.e. broadcast and multicast. */
export const MULTICAST_BIT = macBytes('01:00:00:00:00:00');
