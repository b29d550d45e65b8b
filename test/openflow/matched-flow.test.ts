// matchedFlow (the flow values match-check keeps while it decodes a match) against the reference: the flow values
// read again from the decoded fields, as the FLOW_MOD decoder did before it reused match-check's state. The checks of
// a FLOW_MOD's actions against its match read these values, so the two must agree on every match decodeMatch takes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMatch } from '../../src/openflow/match.js';
import { matchedFlow, type MatchedFlow } from '../../src/openflow/match-check.js';
import { fieldByName } from '../../src/openflow/oxm-fields.js';
import { Reader } from '../../src/openflow/reader.js';
import type { Match } from '../../src/openflow/types.js';

const VLAN_CFI = 0x1000;

function uint(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length && i < 4; i++) n = n * 256 + b[i]!;
  return n;
}

function anySet(b: Uint8Array | undefined): boolean {
  if (!b) return true;
  for (let i = 0; i < b.length; i++) if (b[i]) return true;
  return false;
}

/** The flow state a match gives (match.flow, masked). */
function flowStateOf(match: Match): MatchedFlow {
  const s: MatchedFlow = { packetType: 0, dlType: 0, nwProto: 0, tci0: 0, tci1: 0, nwFrag: 0, tpSrc: 0, tpDst: 0, ctState: 0, ctStateMask: 0, ctTuple4: false, ctTuple6: false, ethType: 0 };
  for (let i = 0; i < match.length; i++) {
    const f = match[i]!;
    const info = f.field === 'unknown' ? undefined : fieldByName(f.field);
    if (!info) continue;
    const o = info.ovsName;
    if (o === 'ct_nw_src' || o === 'ct_nw_dst') s.ctTuple4 ||= anySet(f.mask);
    else if (o === 'ct_ipv6_src' || o === 'ct_ipv6_dst') s.ctTuple6 ||= anySet(f.mask);
    if (info.length > 4) continue;
    const m = f.mask ? uint(f.mask) : 0xffffffff;
    const v = uint(f.value) & m;
    switch (info.ovsName) {
      case 'packet_type':
        s.packetType = v >>> 0;
        break;
      case 'eth_type':
        s.dlType = v;
        s.ethType = v;
        break;
      case 'nw_proto':
        s.nwProto = v & 0xff;
        break;
      case 'arp_op':
        s.nwProto = v & 0xff;
        break;
      case 'vlan_tci':
        s.tci0 = v & 0xffff;
        break;
      case 'vlan_vid':
        s.tci0 = (s.tci0 & ~0x1fff) | (v & 0x1fff);
        break;
      case 'vlan_pcp':
        s.tci0 = (s.tci0 & 0x0fff) | ((v & 7) << 13) | VLAN_CFI;
        break;
      case 'ip_frag':
        s.nwFrag = v;
        break;
      case 'tcp_src':
      case 'udp_src':
      case 'sctp_src':
      case 'icmp_type':
      case 'icmpv6_type':
        s.tpSrc = v;
        break;
      case 'tcp_dst':
      case 'udp_dst':
      case 'sctp_dst':
      case 'icmp_code':
      case 'icmpv6_code':
        s.tpDst = v;
        break;
      case 'ct_state':
        s.ctState = v;
        s.ctStateMask = m;
        break;
    }
  }
  return s;
}


/** The fields whose values the checks read, and a few beside them. */
const FIELDS = [
  'packet_type', 'eth_type', 'ip_proto', 'arp_op', 'vlan_tci', 'vlan_vid', 'vlan_pcp', 'ip_frag', 'tcp_src', 'tcp_dst', 'udp_src', 'icmp_type', 'icmp_code',
  'icmpv6_type', 'icmpv6_code', 'ct_state', 'ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst', 'reg0', 'metadata', 'in_port',
].map((n) => fieldByName(n)!);

/** An ofp_match of OXM TLVs: each a field of FIELDS, masked or not, with a value drawn to hit the interesting ones. */
const tlv = fc.record({
  f: fc.integer({ min: 0, max: FIELDS.length - 1 }),
  masked: fc.boolean(),
  value: fc.oneof(fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x8847, 0x894f, 6, 17, 58, 1, 135, 0x1000, 0x1064, 0x21, 0x30, 0), fc.integer({ min: 0, max: 0xffffffff })),
  mask: fc.oneof(fc.constantFrom(0, 0xffffffff, 0x1fff, 0x10, 0xff00), fc.integer({ min: 0, max: 0xffffffff })),
});

function matchBytes(tlvs: readonly { f: number; masked: boolean; value: number; mask: number }[]): Uint8Array {
  const body: number[] = [];
  for (const t of tlvs) {
    const info = FIELDS[t.f]!;
    const n = info.length;
    const bytes = (x: number): number[] => Array.from({ length: n }, (_, i) => (i >= n - 4 ? (x >>> (8 * (n - 1 - i))) & 0xff : 0));
    const mask = bytes(t.mask);
    const value = bytes(t.value).map((b, i) => (t.masked ? b & mask[i]! : b));
    const h = t.masked ? info.maskedHeader : info.header;
    body.push(h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff, ...value, ...(t.masked ? mask : []));
  }
  const len = 4 + body.length;
  const out = new Uint8Array(Math.ceil(len / 8) * 8);
  out.set([0, 1, len >> 8, len & 0xff, ...body]);
  return out;
}

describe('matchedFlow', () => {
  it('gives the flow values the decoded fields give, for every match decodeMatch takes', () => {
    let taken = 0;
    fc.assert(
      fc.property(fc.array(tlv, { maxLength: 6 }), (tlvs) => {
        let match: Match;
        try {
          match = decodeMatch(new Reader(matchBytes(tlvs)));
        } catch {
          return;
        }
        taken++;
        expect(matchedFlow(match.length)).toEqual(flowStateOf(match));
      }),
      { numRuns: 20000, seed: 20 },
    );
    expect(taken).toBeGreaterThan(2000);
  });

  it('gives an empty flow for an empty match, whatever was decoded before', () => {
    decodeMatch(new Reader(matchBytes([{ f: 1, masked: false, value: 0x0800, mask: 0 }])));
    const empty = decodeMatch(new Reader(matchBytes([])));
    expect(matchedFlow(empty.length)).toEqual(flowStateOf(empty));
  });
});
