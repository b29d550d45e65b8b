// ofp_match (OFPMT_OXM): byte fixtures from ovs-ofctl, round trips, padding, malformed input, prerequisites.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OFPBMC, OFPET } from '../../src/openflow/consts.js';
import { CodecError } from '../../src/openflow/errors.js';
import { OFPMT, checkPrerequisites, decodeMatch, encodeMatch, matchEncodingLength } from '../../src/openflow/match.js';
import { oxm } from '../../src/openflow/text/oxm-builder.js';
import { Reader } from '../../src/openflow/reader.js';
import type { Match } from '../../src/openflow/types.js';
import { Writer } from '../../src/openflow/writer.js';
import { hex, toHex } from '../helpers/hex.js';


function encode(m: Match): Uint8Array {
  const buf = new Uint8Array(matchEncodingLength(m));
  const w = new Writer(buf);
  encodeMatch(w, m);
  expect(w.pos).toBe(buf.length);
  return buf;
}

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return e as CodecError;
  }
  throw new Error('expected a CodecError');
}

const FIXTURES: readonly { text: string; bytes: string; match: Match }[] = [
  {
    text: '(any)',
    bytes: `00 01 00 04   // OFPMT_OXM, length 4 (header only)
            00 00 00 00   // padding to 8`,
    match: [],
  },
  {
    // ovs-ofctl -O OpenFlow13 add-flow 'table=50,priority=20,arp,arp_tpa=192.168.20.1,arp_op=1,actions=...'
    text: 'arp,arp_tpa=192.168.20.1,arp_op=1',
    bytes: `00 01 00 18         // OFPMT_OXM, length 24
            80 00 0a 02 08 06   // eth_type = 0x0806
            80 00 2a 02 00 01   // arp_op = 1
            80 00 2e 04 c0 a8 14 01  // arp_tpa = 192.168.20.1
            00 00 00 00 00 00 00 00`.replace(/00 00 00 00 00 00 00 00$/, ''),
    match: [oxm('eth_type', 0x0806), oxm('arp_op', 1), oxm('arp_tpa', '192.168.20.1')],
  },
  {
    // 'udp,tp_src=68,tp_dst=67,in_port=3,tun_id=0x10'
    text: 'udp,tun_id=0x10,in_port=3,tp_src=68,tp_dst=67',
    bytes: `00 01 00 2f                       // OFPMT_OXM, length 47
            80 00 00 04 00 00 00 03           // in_port = 3
            80 00 0a 02 08 00                 // eth_type = IPv4
            80 00 14 01 11                    // ip_proto = 17
            80 00 1e 02 00 44                 // udp_src = 68
            80 00 20 02 00 43                 // udp_dst = 67
            80 00 4c 08 00 00 00 00 00 00 00 10  // tunnel_id = 0x10
            00                                // padding to 48`,
    match: [oxm('in_port', 3), oxm('eth_type', 0x0800), oxm('ip_proto', 17), oxm('udp_src', 68), oxm('udp_dst', 67), oxm('tun_id', 0x10)],
  },
  {
    // 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00'
    text: 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00',
    bytes: `00 01 00 14                          // OFPMT_OXM, length 20
            80 00 07 0c 01 00 00 00 00 00 01 00 00 00 00 00  // eth_dst/mask
            00 00 00 00                          // padding to 24`,
    match: [oxm('eth_dst', '01:00:00:00:00:00/01:00:00:00:00:00')],
  },
];

describe('ofp_match fixtures', () => {
  for (const fx of FIXTURES) {
    it(fx.text, () => {
      const bytes = hex(fx.bytes);
      expect(toHex(encode(fx.match))).toBe(toHex(bytes));
      const r = new Reader(bytes);
      expect(decodeMatch(r)).toEqual(fx.match);
      expect(r.pos).toBe(bytes.length); // moved past the padding
      expect(matchEncodingLength(fx.match)).toBe(bytes.length);
      expect(matchEncodingLength(fx.match) % 8).toBe(0);
      expect(() => checkPrerequisites(fx.match)).not.toThrow();
    });
  }

  it('encodes at an offset and decodes from the middle of a larger buffer', () => {
    const m = FIXTURES[2]!.match;
    const buf = new Uint8Array(100).fill(0xee);
    const w = new Writer(buf, 13);
    encodeMatch(w, m);
    expect(w.pos - 13).toBe(matchEncodingLength(m));
    expect(buf[12]).toBe(0xee);
    expect(buf[w.pos]).toBe(0xee);
    const r = new Reader(buf, 13);
    expect(decodeMatch(r)).toEqual(m);
    expect(r.pos).toBe(w.pos);
    // A pooled Buffer with a nonzero byteOffset
    const pooled = Buffer.concat([Buffer.alloc(5, 0x11), Buffer.from(encode(m))]).subarray(5);
    const fromPool = decodeMatch(new Reader(pooled));
    expect(fromPool.map((f) => [f.field, toHex(f.value)])).toEqual(m.map((f) => [f.field, toHex(f.value)]));
  });

  it('asserts the struct sizes', () => {
    expect(OFPMT.OXM).toBe(1);
    expect(matchEncodingLength([])).toBe(8);
  });
});

describe('malformed ofp_match', () => {
  const table: readonly [string, string, number][] = [
    ['truncated header', '0001', OFPBMC.BAD_LEN],
    ['OFPMT_STANDARD', '0000 0004 00000000', OFPBMC.BAD_TYPE],
    ['length below 4', '0001 0002 00000000', OFPBMC.BAD_LEN],
    ['length beyond the buffer', '0001 0010 80000a02 0800 0000', OFPBMC.BAD_LEN],
    ['padding missing', '0001 000a 80000a02 0800', OFPBMC.BAD_LEN],
    ['TLV overrunning the match length', '0001 0009 80000a02 0800 000000', OFPBMC.BAD_LEN],
    ['TLV header cut by the match length', '0001 0006 80000a02 0800 0000', OFPBMC.BAD_LEN],
    ['TLV lying about its length', '0001 000b 80000a03 080000 00000000 00', OFPBMC.BAD_LEN],
    ['mask on an unmaskable field', '0001 000c 80000b04 0800ffff 00000000', OFPBMC.BAD_MASK],
    ['value outside mask', '0001 0010 80001708 0a000001 ff000000', OFPBMC.BAD_WILDCARDS],
  ];
  for (const [name, h, code] of table) {
    it(name, () => {
      const e = codecError(() => decodeMatch(new Reader(hex(h))));
      expect([e.ofpType, e.ofpCode]).toEqual([OFPET.BAD_MATCH, code]);
    });
  }
});

describe('checkPrerequisites', () => {
  const ok: readonly [string, Match][] = [
    ['empty', []],
    ['ip + tcp', [oxm('eth_type', 0x0800), oxm('ip_proto', 6), oxm('tcp_dst', 80)]],
    ['ipv6 + udp', [oxm('eth_type', 0x86dd), oxm('ip_proto', 17), oxm('udp_src', 68)]],
    ['rarp + arp_op', [oxm('eth_type', 0x8035), oxm('arp_op', 3)]],
    ['nd_sll', [oxm('eth_type', 0x86dd), oxm('ip_proto', 58), oxm('icmpv6_type', 135), oxm('nd_sll', '00:11:22:33:44:55')]],
    ['vlan_pcp after a present vid', [oxm('vlan_vid', 0x1005), oxm('vlan_pcp', 3)]],
    ['no prerequisites', [oxm('in_port', 1), oxm('eth_dst', '01:00:00:00:00:00/01:00:00:00:00:00'), oxm('tun_id', 5), oxm('reg0', 1)]],
    ['NXM code points count', [oxm('NXM_OF_ETH_TYPE', 0x0806), oxm('NXM_OF_ARP_OP', 1)]],
    ['unknown fields are not checked', [{ field: 'unknown', header: 0x80006402, value: hex('0000') }]],
  ];
  for (const [name, m] of ok) it(`accepts ${name}`, () => expect(() => checkPrerequisites(m)).not.toThrow());

  const bad: readonly [string, Match, number][] = [
    ['ip_proto without eth_type', [oxm('ip_proto', 6)], OFPBMC.BAD_PREREQ],
    ['ip_proto with eth_type arp', [oxm('eth_type', 0x0806), oxm('ip_proto', 6)], OFPBMC.BAD_PREREQ],
    ['tcp_dst with ip_proto 17', [oxm('eth_type', 0x0800), oxm('ip_proto', 17), oxm('tcp_dst', 80)], OFPBMC.BAD_PREREQ],
    ['tcp_dst before ip_proto', [oxm('eth_type', 0x0800), oxm('tcp_dst', 80), oxm('ip_proto', 6)], OFPBMC.BAD_PREREQ],
    ['arp_tpa with eth_type ip', [oxm('eth_type', 0x0800), oxm('arp_tpa', '10.0.0.1')], OFPBMC.BAD_PREREQ],
    ['ipv4_src with eth_type ipv6', [oxm('eth_type', 0x86dd), oxm('ip_src', '10.0.0.1')], OFPBMC.BAD_PREREQ],
    ['icmp_type over ipv6', [oxm('eth_type', 0x86dd), oxm('ip_proto', 1), oxm('icmp_type', 8)], OFPBMC.BAD_PREREQ],
    ['nd_tll with a solicitation', [oxm('eth_type', 0x86dd), oxm('ip_proto', 58), oxm('icmpv6_type', 135), oxm('nd_tll', '00:11:22:33:44:55')], OFPBMC.BAD_PREREQ],
    ['vlan_pcp without vid', [oxm('vlan_pcp', 3)], OFPBMC.BAD_PREREQ],
    ['vlan_pcp with vid "none"', [oxm('vlan_vid', 0), oxm('vlan_pcp', 3)], OFPBMC.BAD_PREREQ],
    ['mpls_label without mpls', [oxm('mpls_label', 5)], OFPBMC.BAD_PREREQ],
    ['in_phy_port without in_port', [oxm('in_phy_port', 5)], OFPBMC.BAD_PREREQ],
    ['eth_dst twice', [oxm('eth_dst', '00:00:00:00:00:01'), oxm('eth_dst', '00:00:00:00:00:02')], OFPBMC.DUP_FIELD],
    ['eth_dst and NXM_OF_ETH_DST', [oxm('eth_dst', '00:00:00:00:00:01'), oxm('NXM_OF_ETH_DST', '00:00:00:00:00:01')], OFPBMC.DUP_FIELD],
    ['tun_id and NXM_NX_TUN_ID', [oxm('tun_id', 1), oxm('NXM_NX_TUN_ID', 1)], OFPBMC.DUP_FIELD],
  ];
  for (const [name, m, code] of bad) {
    it(`rejects ${name}`, () => {
      const e = codecError(() => checkPrerequisites(m));
      expect([e.ofpType, e.ofpCode]).toEqual([OFPET.BAD_MATCH, code]);
    });
  }

  it('names the field and the missing prerequisite', () => {
    expect(() => checkPrerequisites([oxm('eth_type', 0x0800), oxm('tcp_dst', 80)])).toThrow(/'tcp_dst' needs TCP/);
  });
});

describe('property: matches round-trip', () => {
  const pool: Match = [
    oxm('in_port', 7),
    oxm('eth_src', '00:11:22:33:44:55'),
    oxm('eth_dst', '01:00:00:00:00:00/01:00:00:00:00:00'),
    oxm('eth_type', 0x0800),
    oxm('ip_proto', 17),
    oxm('ip_dst', '10.0.0.0/8'),
    oxm('udp_dst', 67),
    oxm('tun_id', 0x64),
    oxm('reg3', 0x10, 0xff),
    oxm('tcp_flags', '+syn-ack'),
    oxm('ct_label', '0x1/0x3'),
    { field: 'unknown', header: 0xffff0206, experimenter: 0x00abcdef, value: hex('1234') },
  ];
  it('decode(encode(m)) equals m, at any offset, with lengths agreeing', () => {
    fc.assert(
      fc.property(fc.subarray([...pool]), fc.nat(20), (m, offset) => {
        const len = matchEncodingLength(m);
        const buf = new Uint8Array(offset + len + 8);
        const w = new Writer(buf, offset);
        encodeMatch(w, m);
        expect(w.pos - offset).toBe(len);
        const r = new Reader(buf, offset);
        expect(decodeMatch(r)).toEqual(m);
        expect(r.pos).toBe(offset + len);
      }),
    );
  });
});
