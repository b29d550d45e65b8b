// ICMP fragmentation-needed frames: every byte where RFC 792/1191 put it, both checksums verified independently
// (the sum over a correct header or message, checksum included, is 0xffff: RFC 1071), the quote rules of RFC 1122, and
// fast-check properties over generated datagrams. The lab test (test/lab/scenarios.test.ts) has real kernels accept it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fragmentationNeeded, internetChecksum, parseIpv4Frame, PacketError, whyNoIcmpError } from '../../src/packets/index.js';
import { ipv4ToNumber } from '../../src/topology/model.js';

const mac = (s: string): Uint8Array => new Uint8Array(s.split(':').map((h) => parseInt(h, 16)));
const GW_MAC = mac('12:00:00:ff:ff:ff');
const VM_MAC = mac('02:00:00:00:0a:01');

/** Sum of 16-bit words without the final complement (0xffff over a region whose checksum is right). */
function onesSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** An Ethernet + IPv4 + TCP frame as a sender would emit it (total length `size`), truncated to `captured` bytes. */
function tcpFrame(opts: { size: number; captured?: number; df?: boolean; src?: string; dst?: string; fragOffset?: number; proto?: number; payload0?: number }): Uint8Array {
  const f = new Uint8Array(14 + opts.size);
  const v = new DataView(f.buffer);
  f.set(GW_MAC, 0);
  f.set(VM_MAC, 6);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, opts.size);
  v.setUint16(18, 0x1234);
  v.setUint16(20, (opts.df === false ? 0 : 0x4000) | (opts.fragOffset ?? 0));
  v.setUint8(22, 63);
  v.setUint8(23, opts.proto ?? 6);
  v.setUint32(26, ipv4ToNumber(opts.src ?? '192.168.20.10'));
  v.setUint32(30, ipv4ToNumber(opts.dst ?? '192.168.20.41'));
  v.setUint16(24, internetChecksum(f, 14, 34));
  v.setUint16(34, 40000); // sport
  v.setUint16(36, 80); // dport
  v.setUint32(38, 0xdeadbeef); // seq
  if (opts.payload0 !== undefined) f[34] = opts.payload0;
  return f.subarray(0, opts.captured ?? f.length);
}

describe('fragmentationNeeded', () => {
  const original = parseIpv4Frame(tcpFrame({ size: 1500, captured: 128 }));
  const frame = fragmentationNeeded({ ethSrc: GW_MAC, ipSrc: ipv4ToNumber('192.168.20.1'), ethDst: VM_MAC, nextHopMtu: 1450, original });
  const v = new DataView(frame.buffer);

  it('is an Ethernet frame from the gateway to the sender', () => {
    expect([...frame.subarray(0, 6)]).toEqual([...VM_MAC]);
    expect([...frame.subarray(6, 12)]).toEqual([...GW_MAC]);
    expect(v.getUint16(12)).toBe(0x0800);
  });

  it('has an IPv4 header from the gateway IP to the original source, protocol ICMP, right length and checksum', () => {
    expect(frame[14]).toBe(0x45);
    expect(v.getUint16(16)).toBe(frame.length - 14);
    expect(frame[22]).toBe(64);
    expect(frame[23]).toBe(1);
    expect(v.getUint32(26)).toBe(ipv4ToNumber('192.168.20.1'));
    expect(v.getUint32(30)).toBe(ipv4ToNumber('192.168.20.10'));
    expect(onesSum(frame.subarray(14, 34))).toBe(0xffff);
  });

  it('is type 3 code 4 with the next-hop MTU (RFC 1191), and an ICMP checksum over the whole message', () => {
    expect(frame[34]).toBe(3);
    expect(frame[35]).toBe(4);
    expect(v.getUint16(38)).toBe(0); // unused
    expect(v.getUint16(40)).toBe(1450);
    expect(onesSum(frame.subarray(34))).toBe(0xffff);
  });

  it('quotes the original IP header and the first 8 bytes of its payload (ports and TCP sequence number)', () => {
    expect(frame.length).toBe(14 + 20 + 8 + 20 + 8);
    expect([...frame.subarray(42)]).toEqual([...original.ip.subarray(0, 28)]);
    expect(v.getUint32(42 + 20 + 4)).toBe(0xdeadbeef);
  });

  it('quotes only what was captured when the packet-in was cut short', () => {
    const short = parseIpv4Frame(tcpFrame({ size: 1500, captured: 14 + 24 }));
    const f = fragmentationNeeded({ ethSrc: GW_MAC, ipSrc: 1, ethDst: VM_MAC, nextHopMtu: 1450, original: short });
    expect(f.length).toBe(14 + 20 + 8 + 24);
    expect(onesSum(f.subarray(34))).toBe(0xffff);
  });

  it('property: any datagram gives valid checksums, the right lengths and an exact quote', () => {
    fc.assert(
      fc.property(fc.integer({ min: 28, max: 9000 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 68, max: 65535 }), fc.boolean(), (size, cut, mtu, df) => {
        const captured = Math.min(14 + size, 14 + 20 + cut);
        const o = parseIpv4Frame(tcpFrame({ size, captured, df }));
        const f = fragmentationNeeded({ ethSrc: GW_MAC, ipSrc: ipv4ToNumber('10.0.0.1'), ethDst: VM_MAC, nextHopMtu: mtu, original: o });
        const quote = Math.min(captured - 14, 28);
        expect(f.length).toBe(14 + 28 + quote);
        expect(onesSum(f.subarray(14, 34))).toBe(0xffff);
        expect(onesSum(f.subarray(34))).toBe(0xffff);
        expect(new DataView(f.buffer).getUint16(40)).toBe(mtu);
        expect([...f.subarray(42)]).toEqual([...o.ip.subarray(0, quote)]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('whyNoIcmpError (RFC 1122 3.2.2)', () => {
  const why = (o: Parameters<typeof tcpFrame>[0]) => whyNoIcmpError(parseIpv4Frame(tcpFrame({ captured: 128, ...o })));
  it('answers an ordinary TCP or UDP datagram, with DF or without', () => {
    expect(why({ size: 1500 })).toBeUndefined();
    expect(why({ size: 1500, df: false, proto: 17 })).toBeUndefined();
    expect(why({ size: 1500, proto: 1, payload0: 8 })).toBeUndefined(); // an echo request
  });
  it('never answers an ICMP error, a later fragment, a non-unicast source or a multicast/broadcast destination', () => {
    expect(why({ size: 1500, proto: 1, payload0: 3 })).toMatch(/ICMP error/);
    expect(why({ size: 1500, fragOffset: 185 })).toMatch(/fragment/);
    expect(why({ size: 1500, src: '0.0.0.0' })).toMatch(/unicast/);
    expect(why({ size: 1500, src: '224.0.0.5' })).toMatch(/unicast/);
    expect(why({ size: 1500, dst: '239.1.1.1' })).toMatch(/multicast/);
    expect(why({ size: 1500, dst: '255.255.255.255' })).toMatch(/broadcast/);
  });
});

describe('parseIpv4Frame rejects what is not a well-formed IPv4 frame', () => {
  const good = tcpFrame({ size: 1500, captured: 128 });
  const bad = (mutate: (b: Uint8Array) => void, len = good.length): Uint8Array => {
    const b = good.slice(0, len);
    mutate(b);
    return b;
  };
  it.each([
    ['too short', bad(() => undefined, 33)],
    ['not IPv4 (ARP)', bad((b) => (b[12] = 0x08, b[13] = 0x06))],
    ['IP version 6', bad((b) => (b[14] = 0x65))],
    ['header length below 20', bad((b) => (b[14] = 0x44))],
    ['header longer than captured', bad((b) => (b[14] = 0x4f), 40)],
    ['total length below header', bad((b) => (b[16] = 0, b[17] = 10))],
  ])('%s', (_name, frame) => {
    expect(() => parseIpv4Frame(frame)).toThrow(PacketError);
  });
  it('property: random bytes either parse or throw PacketError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parseIpv4Frame(b);
        } catch (e) {
          expect(e).toBeInstanceOf(PacketError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
