// One OXM TLV and the field registry: byte fixtures (from ovs-ofctl), round trips, malformed input, value text.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OFPBMC, OFPET } from '../../src/openflow/consts.js';
import { CodecError } from '../../src/openflow/errors.js';
import { decodeOxm, encodeOxm, oxmEncodingLength } from '../../src/openflow/oxm.js';
import { FIELDS, OFPXMT, fieldByHeader, fieldByName, nxmCodePoint, oxmHeader } from '../../src/openflow/oxm-fields.js';
import { formatFieldValue, parseFieldValue } from '../../src/openflow/text/field-value.js';
import { oxm } from '../../src/openflow/text/oxm-builder.js';
import { Reader } from '../../src/openflow/reader.js';
import type { OxmField } from '../../src/openflow/types.js';
import { Writer } from '../../src/openflow/writer.js';
import { hex, toHex } from '../helpers/hex.js';


function encode(f: OxmField): Uint8Array {
  const buf = new Uint8Array(oxmEncodingLength(f));
  const w = new Writer(buf);
  encodeOxm(w, f);
  expect(w.pos).toBe(buf.length);
  return buf;
}

function decodeAll(b: Uint8Array): OxmField {
  const r = new Reader(b);
  const f = decodeOxm(r);
  expect(r.remaining).toBe(0);
  return f;
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

// Each fixture as ovs-ofctl -O OpenFlow13 sends it (captured from add-flow; see flow-text.test.ts for the live check).
const FIXTURES: readonly { name: string; text: string; bytes: string; field: OxmField }[] = [
  {
    name: 'in_port',
    text: 'in_port=LOCAL',
    bytes: `80 00 00 04 // class OPENFLOW_BASIC, field 0 (IN_PORT), no mask, length 4
            ff ff ff fe // OFPP_LOCAL`,
    field: { field: 'in_port', value: hex('fffffffe') },
  },
  {
    name: 'eth_dst masked',
    text: 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00',
    bytes: `80 00 07 0c        // class 0x8000, field 3 (ETH_DST) << 1 | hasmask, length 12
            01 00 00 00 00 00  // value
            01 00 00 00 00 00  // mask`,
    field: { field: 'eth_dst', value: hex('010000000000'), mask: hex('010000000000') },
  },
  {
    name: 'eth_type',
    text: 'arp',
    bytes: `80 00 0a 02 // field 5 (ETH_TYPE), length 2
            08 06       // ARP`,
    field: { field: 'eth_type', value: hex('0806') },
  },
  {
    name: 'tun_id (OXM_OF_TUNNEL_ID)',
    text: 'tun_id=0x10',
    bytes: `80 00 4c 08              // field 38 (TUNNEL_ID), length 8
            00 00 00 00 00 00 00 10  // VNI 16`,
    field: { field: 'tun_id', value: hex('0000000000000010') },
  },
  {
    name: 'tcp_flags (ONF experimenter)',
    text: 'tcp,tcp_flags=+syn-ack',
    bytes: `ff ff 55 08  // class EXPERIMENTER, field 42 << 1 | hasmask, length 8 (incl. experimenter)
            4f 4e 46 00  // ONF_EXPERIMENTER_ID
            00 02        // value: SYN
            00 12        // mask: SYN | ACK`,
    field: { field: 'tcp_flags', value: hex('0002'), mask: hex('0012') },
  },
  {
    name: 'ct_state (NXM_NX_CT_STATE)',
    text: 'ct_state=+trk-new',
    bytes: `00 01 d3 08   // class NXM_1, field 105 << 1 | hasmask, length 8
            00 00 00 20   // value: trk
            00 00 00 21   // mask: trk | new`,
    field: { field: 'ct_state', value: hex('00000020'), mask: hex('00000021') },
  },
  {
    name: 'reg15 masked',
    text: 'reg15=0x10/0xff',
    bytes: `00 01 1f 08   // class NXM_1, field 15 << 1 | hasmask, length 8
            00 00 00 10   // value
            00 00 00 ff   // mask`,
    field: { field: 'reg15', value: hex('00000010'), mask: hex('000000ff') },
  },
  {
    name: 'tun_dst masked (NXM_NX_TUN_IPV4_DST)',
    text: 'tun_dst=10.0.0.0/8',
    bytes: `00 01 41 08   // class NXM_1, field 32 << 1 | hasmask, length 8
            0a 00 00 00   // 10.0.0.0
            ff 00 00 00   // /8`,
    field: { field: 'tun_dst', value: hex('0a000000'), mask: hex('ff000000') },
  },
  {
    name: 'ipv6_src /32',
    text: 'ipv6,ipv6_src=2001:db8::/32',
    bytes: `80 00 35 20                                      // field 26 << 1 | hasmask, length 32
            20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 00  // 2001:db8::
            ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00  // /32`,
    field: { field: 'ipv6_src', value: hex('20010db8000000000000000000000000'), mask: hex('ffffffff000000000000000000000000') },
  },
  {
    name: 'actset_output (ONF experimenter, unmasked)',
    text: 'actset_output=5',
    bytes: `ff ff 56 08   // class EXPERIMENTER, field 43 << 1, length 8
            4f 4e 46 00   // ONF_EXPERIMENTER_ID
            00 00 00 05   // port 5`,
    field: { field: 'actset_output', value: hex('00000005') },
  },
];

describe('OXM byte fixtures', () => {
  for (const fx of FIXTURES) {
    it(`${fx.name} (${fx.text})`, () => {
      const bytes = hex(fx.bytes);
      expect(toHex(encode(fx.field))).toBe(toHex(bytes));
      expect(decodeAll(bytes)).toEqual(fx.field);
      expect(oxmEncodingLength(fx.field)).toBe(bytes.length);
    });
  }

  it('decodes values and masks as views into the input, not copies', () => {
    const bytes = hex(FIXTURES[1]!.bytes);
    const f = decodeAll(bytes);
    expect(f.value.buffer).toBe(bytes.buffer);
    expect(f.value.byteOffset).toBe(4);
    expect(f.mask!.byteOffset).toBe(10);
  });

  it('encodes at an offset into a larger buffer', () => {
    const f = FIXTURES[4]!.field;
    const buf = new Uint8Array(40).fill(0xaa);
    const w = new Writer(buf, 7);
    encodeOxm(w, f);
    expect(w.pos).toBe(7 + oxmEncodingLength(f));
    expect(buf[6]).toBe(0xaa);
    expect(buf[w.pos]).toBe(0xaa);
    const r = new Reader(buf, 7, w.pos);
    expect(decodeOxm(r)).toEqual(f);
  });
});

describe('unknown fields are kept raw', () => {
  const cases = [
    ['basic class, unassigned field 50', '80006404 01020304'],
    ['basic class, unassigned field, masked', '80006508 01020304 ffffffff'],
    ['unknown experimenter', 'ffff0206 00abcdef 1234'],
    ['NXM tun_metadata0 (variable length)', '00015002 1234'],
  ] as const;
  for (const [name, h] of cases) {
    it(name, () => {
      const bytes = hex(h);
      const f = decodeAll(bytes);
      expect(f.field).toBe('unknown');
      expect(f.header).toBe(Buffer.from(bytes).readUInt32BE(0));
      expect(toHex(encode(f))).toBe(toHex(bytes));
    });
  }
  it('keeps the experimenter id', () => {
    expect(decodeAll(hex('ffff0206 00abcdef 1234')).experimenter).toBe(0x00abcdef);
  });
});

describe('malformed OXM', () => {
  const table: readonly [string, string, number][] = [
    ['truncated header', '8000', OFPBMC.BAD_LEN],
    ['body shorter than its length', '80000a02 08', OFPBMC.BAD_LEN],
    ['eth_type claiming 3 bytes', '80000a03 080000', OFPBMC.BAD_LEN],
    ['eth_dst masked but only 6 bytes', '80000706 010000000000', OFPBMC.BAD_LEN],
    ['mask on eth_type (not maskable)', '80000b04 08000800', OFPBMC.BAD_MASK],
    ['mask on in_port (not maskable)', '80000108 00000001 ffffffff', OFPBMC.BAD_MASK],
    ['value bit outside mask', '80001708 0a000001 ff000000', OFPBMC.BAD_WILDCARDS],
    ['vlan_pcp 8 (3 bits)', '80000e01 08', OFPBMC.BAD_VALUE],
    ['vlan_vid 0x2000 (13 bits)', '80000c02 2000', OFPBMC.BAD_VALUE],
    ['ip_dscp 64 (6 bits)', '80001001 40', OFPBMC.BAD_VALUE],
    ['experimenter header with length < 4', 'ffff5402 0002', OFPBMC.BAD_LEN],
    ['experimenter id truncated', 'ffff5406 4f4e', OFPBMC.BAD_LEN],
    ['tcp_flags with a 3-byte value', 'ffff5407 4f4e4600 000200', OFPBMC.BAD_LEN],
    ['unknown masked field with odd length', '80006503 010203', OFPBMC.BAD_LEN],
  ];
  for (const [name, h, code] of table) {
    it(`${name} -> BAD_MATCH/${Object.entries(OFPBMC).find(([, v]) => v === code)![0]}`, () => {
      const e = codecError(() => decodeOxm(new Reader(hex(h))));
      expect([e.ofpType, e.ofpCode]).toEqual([OFPET.BAD_MATCH, code]);
    });
  }

  it('refuses to encode a value of the wrong length or a mask on an unmaskable field', () => {
    expect(codecError(() => encode({ field: 'eth_type', value: hex('080000') })).ofpCode).toBe(OFPBMC.BAD_LEN);
    expect(codecError(() => encode({ field: 'eth_type', value: hex('0800'), mask: hex('ff00') })).ofpCode).toBe(OFPBMC.BAD_MASK);
    // All-ones and all-zeros masks are what OVS takes on a field without a mask (mf_is_mask_valid), so they encode.
    expect(() => encode({ field: 'eth_type', value: hex('0800'), mask: hex('ffff') })).not.toThrow();
    expect(codecError(() => encode({ field: 'no_such_field', value: hex('00') })).ofpCode).toBe(OFPBMC.BAD_FIELD);
    expect(codecError(() => encode({ field: 'unknown', value: hex('00'), header: 0x80006402 })).ofpCode).toBe(OFPBMC.BAD_LEN);
  });
});

describe('field registry', () => {
  it('has every OpenFlow 1.3 basic field', () => {
    for (let field = 0; field <= 39; field++) {
      const info = fieldByHeader((0x8000 << 16) | (field << 9));
      expect(info, `OXM basic field ${field}`).toBeDefined();
      expect(info!.oxmClass).toBe(0x8000);
    }
    expect(Object.keys(OFPXMT).length).toBe(41);
  });

  it('headers are consistent and code points unique', () => {
    const seen = new Set<string>();
    for (const f of FIELDS) {
      const expLen = f.experimenter === undefined ? 0 : 4;
      expect(f.header >>> 16, f.name).toBe(f.oxmClass);
      expect((f.header >>> 9) & 0x7f, f.name).toBe(f.oxmField);
      expect(f.header & 0xff, f.name).toBe(f.length + expLen);
      expect(f.maskedHeader, f.name).toBe(((f.header & ~0xff) >>> 0) + 0x100 + 2 * f.length + expLen);
      expect(oxmHeader(f, true)).toBe(f.maskedHeader);
      const key = `${f.oxmClass}:${f.oxmField}:${f.experimenter ?? ''}`;
      expect(seen.has(key), `${f.name} duplicates ${key}`).toBe(false);
      seen.add(key);
      expect(fieldByHeader(f.header, f.experimenter)).toBe(f);
      expect(fieldByHeader(f.maskedHeader, f.experimenter)).toBe(f);
      expect(fieldByName(f.name)).toBe(f);
      expect(f.nBits).toBeLessThanOrEqual(8 * f.length);
    }
  });

  it('finds fields by ovs-fields(7) names, aliases and NXM/OXM names', () => {
    const cases: [string, string][] = [
      ['dl_dst', 'eth_dst'],
      ['eth_dst', 'eth_dst'],
      ['OXM_OF_ETH_DST', 'eth_dst'],
      ['NXM_OF_ETH_DST', 'NXM_OF_ETH_DST'],
      ['nw_src', 'ip_src'],
      ['nw_dst', 'ip_dst'],
      ['tp_dst', 'tcp_dst'],
      ['ip_proto', 'nw_proto'],
      ['tunnel_id', 'tun_id'],
      ['OXM_OF_TUNNEL_ID', 'tun_id'],
      ['NXM_NX_TUN_ID', 'NXM_NX_TUN_ID'],
      ['NXM_NX_TUN_IPV4_DST', 'tun_dst'],
      ['NXM_NX_REG3', 'reg3'],
      ['nxm_nx_reg3', 'reg3'],
      ['NXM_NX_ARP_SHA', 'NXM_NX_ARP_SHA'],
      ['arp_sha', 'arp_sha'],
      ['ip_ecn', 'nw_ecn'],
      ['in_port_oxm', 'in_port'],
      ['NXM_OF_IN_PORT', 'NXM_OF_IN_PORT'],
    ];
    for (const [name, want] of cases) expect(fieldByName(name)?.name, name).toBe(want);
    expect(fieldByName('foo')).toBeUndefined();
    expect(fieldByName('NXM_OF_ETH_DST')!.ovsName).toBe('eth_dst');
    expect(fieldByName('NXM_OF_IN_PORT')!.length).toBe(2);
  });

  it('gives Nicira actions the NXM code point where there is one', () => {
    expect(nxmCodePoint(fieldByName('eth_src')!).name).toBe('NXM_OF_ETH_SRC');
    expect(nxmCodePoint(fieldByName('arp_op')!).header).toBe(0x00001e02);
    expect(nxmCodePoint(fieldByName('tun_id')!).name).toBe('NXM_NX_TUN_ID');
    expect(nxmCodePoint(fieldByName('reg0')!).name).toBe('reg0');
    expect(nxmCodePoint(fieldByName('vlan_vid')!).name).toBe('vlan_vid');
  });

  it('describes prerequisites as data', () => {
    expect(fieldByName('tcp_dst')!.prereq).toMatchObject({ name: 'TCP', ethTypes: [0x0800, 0x86dd], ipProto: 6 });
    expect(fieldByName('arp_tpa')!.prereq).toMatchObject({ name: 'ARP', ethTypes: [0x0806, 0x8035] });
    expect(fieldByName('nd_sll')!.prereq).toMatchObject({ icmpv6Types: [135] });
    expect(fieldByName('eth_dst')!.prereq).toBeUndefined();
  });
});

describe('parseFieldValue / formatFieldValue', () => {
  const f = (n: string) => fieldByName(n)!;
  // [field, text, value hex, mask hex | undefined, formatted (as ovs-ofctl prints set_field values)]
  const cases: readonly [string, string, string, string | undefined, string][] = [
    ['eth_dst', '01:02:03:04:05:06', '010203040506', undefined, '01:02:03:04:05:06'],
    ['eth_dst', '1:2:3:4:5:6', '010203040506', undefined, '01:02:03:04:05:06'],
    ['eth_dst', 'FF:FF:FF:FF:FF:FF', 'ffffffffffff', undefined, 'ff:ff:ff:ff:ff:ff'],
    ['eth_dst', '01:00:00:00:00:00/01:00:00:00:00:00', '010000000000', '010000000000', '01:00:00:00:00:00/01:00:00:00:00:00'],
    ['eth_dst', '00:11:22:33:44:66/ff:ff:ff:ff:ff:00', '001122334400', 'ffffffffff00', '00:11:22:33:44:00/ff:ff:ff:ff:ff:00'],
    ['eth_dst', '00:00:00:00:00:01/ff:ff:ff:ff:ff:ff', '000000000001', undefined, '00:00:00:00:00:01'],
    ['ip_dst', '10.0.0.1', '0a000001', undefined, '10.0.0.1'],
    ['ip_dst', '10.1.2.3/8', '0a000000', 'ff000000', '10.0.0.0/8'],
    ['ip_dst', '10.1.0.0/255.0.255.0', '0a000000', 'ff00ff00', '10.0.0.0/255.0.255.0'],
    ['ip_dst', '1.2.3.4/32', '01020304', undefined, '1.2.3.4'],
    ['ipv6_src', '2001:db8::1', '20010db8000000000000000000000001', undefined, '2001:db8::1'],
    ['ipv6_src', '2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', undefined, '2001:db8::1:0:0:1'],
    ['ipv6_src', '2001:0:0:1:0:0:0:1', '20010000000000010000000000000001', undefined, '2001:0:0:1::1'],
    ['ipv6_src', '::', '00000000000000000000000000000000', undefined, '::'],
    ['ipv6_src', '::1', '00000000000000000000000000000001', undefined, '::1'],
    ['ipv6_src', '::ffff:1.2.3.4', '00000000000000000000ffff01020304', undefined, '::ffff:1.2.3.4'],
    ['ipv6_src', 'fe80::/10', 'fe800000000000000000000000000000', 'ffc00000000000000000000000000000', 'fe80::/10'],
    ['ipv6_src', 'fe80::/ffff:0:ffff::', 'fe800000000000000000000000000000', 'ffff0000ffff00000000000000000000', 'fe80::/ffff:0:ffff::'],
    ['nw_proto', '6', '06', undefined, '6'],
    ['nw_proto', '0x11', '11', undefined, '17'],
    ['arp_op', '2', '0002', undefined, '2'],
    ['eth_type', '0x0800', '0800', undefined, '0x800'],
    ['eth_type', '2048', '0800', undefined, '0x800'],
    ['tcp_dst', '80', '0050', undefined, '80'],
    ['tcp_dst', '0x50/0xff', '0050', '00ff', '80/0xff'],
    ['tun_id', '0x10', '0000000000000010', undefined, '0x10'],
    ['tun_id', '0', '0000000000000000', undefined, '0'],
    ['tun_id', '0xffffffffffffffff', 'ffffffffffffffff', undefined, '0xffffffffffffffff'],
    ['reg0', '5/0xff', '00000005', '000000ff', '0x5/0xff'],
    ['ct_label', '0x1/0x3', '00000000000000000000000000000001', '00000000000000000000000000000003', '0x1/0x3'],
    ['in_port', 'LOCAL', 'fffffffe', undefined, 'LOCAL'],
    ['in_port', 'local', 'fffffffe', undefined, 'LOCAL'],
    ['in_port', 'in_port', 'fffffff8', undefined, 'IN_PORT'],
    ['in_port', 'none', 'ffffffff', undefined, 'ANY'],
    ['in_port', '65534', 'fffffffe', undefined, 'LOCAL'],
    ['in_port', '7', '00000007', undefined, '7'],
    ['NXM_OF_IN_PORT', 'LOCAL', 'fffe', undefined, 'LOCAL'],
    ['NXM_OF_IN_PORT', '7', '0007', undefined, '7'],
    ['ct_state', '+trk-new', '00000020', '00000021', '-new+trk'],
    ['ct_state', 'trk|est', '00000022', '000000ff', 'est|trk'],
    ['ct_state', '0', '00000000', '000000ff', '0'],
    ['ct_state', '0x21/0x21', '00000021', '00000021', '+new+trk'],
    ['tcp_flags', 'syn', '0002', undefined, 'syn'],
    ['tcp_flags', '+syn-ack', '0002', '0012', '+syn-ack'],
    ['tun_flags', 'oam', '0001', '0001', '+oam'],
    ['tun_flags', '0', '0000', '0001', '-oam'],
    ['ip_frag', 'first', '01', undefined, 'first'],
    ['ip_frag', 'later', '03', undefined, 'later'],
    ['ip_frag', 'yes', '01', '01', 'yes'],
    ['ip_frag', 'not_later', '00', '02', 'not_later'],
    ['ipv6_label', '0x12345', '00012345', undefined, '0x12345'],
    ['vlan_vid', '4101', '1005', undefined, '4101'],
    ['packet_type', '(0,0x800)', '00000800', undefined, '(0,0x800)'],
  ];
  for (const [name, text, v, m, printed] of cases) {
    it(`${name}=${text}`, () => {
      const got = parseFieldValue(f(name), text);
      expect(toHex(got.value)).toBe(v);
      expect(got.mask && toHex(got.mask)).toBe(m);
      expect(formatFieldValue(f(name), got.value, got.mask)).toBe(printed);
    });
  }

  const errors: readonly [string, string, RegExp][] = [
    ['nw_proto', '300', /bad value '300' for 'nw_proto'/],
    ['eth_type', '0x10000', /bad value '0x10000' for 'eth_type'/],
    ['eth_dst', '01:02:03:04:05', /bad value '01:02:03:04:05' for 'eth_dst'.*Ethernet/],
    ['ip_src', '1.2.3', /bad value '1.2.3'/],
    ['ip_src', '300.1.1.1', /bad value '300.1.1.1'/],
    ['ip_src', '1.2.3.4/33', /prefix length/],
    ['ipv6_src', '1::2::3', /bad value '1::2::3'/],
    ['tun_id', '1e3', /bad value '1e3' for 'tun_id'/],
    ['reg0', '-1', /bad value '-1'/],
    ['eth_type', '0x800/0xffff', /does not support masking/],
    ['ct_state', '+foo', /unknown flag 'foo'/],
    ['vlan_pcp', '8', /bad value '8' for 'vlan_pcp'/],
    ['in_port', '0x12345678', /bad value '0x12345678' for 'in_port'/],
  ];
  for (const [name, text, re] of errors) {
    it(`rejects ${name}=${text}`, () => expect(() => parseFieldValue(f(name), text)).toThrow(re));
  }

  it('prints a zero mask as ANY and an all-ones mask as none, like mf_format', () => {
    expect(formatFieldValue(f('reg0'), hex('00000005'), hex('00000000'))).toBe('ANY');
    expect(formatFieldValue(f('reg0'), hex('00000005'), hex('ffffffff'))).toBe('0x5');
  });
});

describe('oxm() builder', () => {
  it('builds from numbers, bigints, bytes and text', () => {
    expect(oxm('eth_type', 0x0806)).toEqual({ field: 'eth_type', value: hex('0806') });
    expect(oxm('tun_id', 100n)).toEqual({ field: 'tun_id', value: hex('0000000000000064') });
    expect(oxm('tun_id', 100)).toEqual({ field: 'tun_id', value: hex('0000000000000064') });
    expect(oxm('dl_dst', '01:00:00:00:00:00/01:00:00:00:00:00')).toEqual({ field: 'eth_dst', value: hex('010000000000'), mask: hex('010000000000') });
    expect(oxm('arp_tpa', '192.168.20.1')).toEqual({ field: 'arp_tpa', value: hex('c0a81401') });
    expect(oxm('reg0', 5, 0xff)).toEqual({ field: 'reg0', value: hex('00000005'), mask: hex('000000ff') });
    expect(oxm('eth_src', hex('020000000001'))).toEqual({ field: 'eth_src', value: hex('020000000001') });
    expect(oxm('reg0', 5, 0xffffffff)).toEqual({ field: 'reg0', value: hex('00000005') });
    expect(oxm('NXM_NX_TUN_ID', 5n).field).toBe('NXM_NX_TUN_ID');
  });

  it('rejects what does not fit', () => {
    expect(() => oxm('foo', 1)).toThrow(/unknown field 'foo'/);
    expect(() => oxm('nw_proto', 256)).toThrow(/nw_proto/);
    expect(() => oxm('eth_type', 1, 0xff)).toThrow(/does not support masking/);
    expect(() => oxm('reg0', 0x100, 0xff)).toThrow(/outside its mask/);
    expect(() => oxm('eth_src', hex('0200'))).toThrow(/6 bytes/);
    expect(() => oxm('reg0', -1)).toThrow(/reg0/);
  });
});

describe('property: every registry field round-trips', () => {
  const arbField = fc.constantFrom(...FIELDS).chain((info) =>
    fc
      .tuple(fc.uint8Array({ minLength: info.length, maxLength: info.length }), fc.option(fc.uint8Array({ minLength: info.length, maxLength: info.length }), { nil: undefined }))
      .map(([v, m]): OxmField => {
        const value = new Uint8Array(v);
        // keep the value within the field's bits (and within the mask, which a valid OXM must be)
        let excess = info.length * 8 - info.nBits;
        for (let i = 0; excess > 0; i++, excess -= 8) value[i]! &= excess >= 8 ? 0 : 0xff >> excess;
        if (!m || !info.maskable) return { field: info.name, value };
        return { field: info.name, value: value.map((b, i) => b & m[i]!), mask: m };
      }),
  );
  it('decode(encode(x)) equals x and encode(decode(b)) equals b', () => {
    fc.assert(
      fc.property(arbField, fc.nat(16), (f, offset) => {
        const buf = new Uint8Array(offset + oxmEncodingLength(f) + 3);
        const w = new Writer(buf, offset);
        encodeOxm(w, f);
        expect(w.pos - offset).toBe(oxmEncodingLength(f));
        const back = decodeOxm(new Reader(buf, offset, w.pos));
        expect(back).toEqual(f);
        expect(toHex(encode(back))).toBe(toHex(buf.subarray(offset, w.pos)));
      }),
      { numRuns: 500 },
    );
  });
});
