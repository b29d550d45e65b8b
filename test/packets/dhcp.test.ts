// DHCP as the controller reads and writes it: client messages parsed with every length checked (property tests:
// nothing but PacketError escapes, for random bytes and for valid messages with bytes changed or cut), replies built
// where RFC 2131/2132/3442 put each byte, both checksums verified, and tcpdump (a real parser) reading our frames.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDhcpReply, encodeClasslessRoutes, internetChecksum, parseDhcpRequest, PacketError, type DhcpLease } from '../../src/packets/index.js';
import { ipv4ToNumber } from '../../src/topology/model.js';
import { clientFrame } from '../helpers/dhcp.js';

const mac = (s: string): Uint8Array => new Uint8Array(s.split(':').map((h) => parseInt(h, 16)));
const GW_MAC = mac('12:00:00:ff:ff:ff');
const VM_MAC = mac('02:00:00:00:0a:01');
const ip = ipv4ToNumber;

const LEASE: DhcpLease = { ip: ip('10.0.1.5'), prefixLength: 24, router: ip('10.0.1.1'), dns: [ip('10.0.1.1')], leaseSeconds: 43200, mtu: 1450 };

/** Options of a reply (BOOTP at 42), code -> value bytes. */
function optionsOf(frame: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let at = 42 + 240;
  while (at < frame.length && frame[at] !== 255) {
    if (frame[at] === 0) {
      at++;
      continue;
    }
    out.set(frame[at]!, frame.subarray(at + 2, at + 2 + frame[at + 1]!));
    at += 2 + frame[at + 1]!;
  }
  return out;
}

const u32 = (b: Uint8Array | undefined, at = 0): number => new DataView(b!.buffer, b!.byteOffset).getUint32(at);

function udpChecksumOk(f: Uint8Array): boolean {
  const udpLen = (f[38]! << 8) | f[39]!;
  const pseudo = new Uint8Array(12 + udpLen);
  pseudo.set(f.subarray(26, 34), 0);
  pseudo[9] = 17;
  pseudo[10] = udpLen >> 8;
  pseudo[11] = udpLen & 0xff;
  pseudo.set(f.subarray(34, 34 + udpLen), 12);
  return internetChecksum(pseudo) === 0;
}

describe('parseDhcpRequest', () => {
  it('reads a DISCOVER: type, xid, chaddr, requested IP', () => {
    const r = parseDhcpRequest(clientFrame());
    expect(r.type).toBe('discover');
    expect(r.xid).toBe(0xcafe0001);
    expect([...r.chaddr]).toEqual([...VM_MAC]);
    expect(r.requestedIp).toBe(ip('10.0.1.5'));
    expect(r.serverId).toBeUndefined();
  });

  it('reads a REQUEST with a server id, and a renewal from ciaddr', () => {
    const sel = parseDhcpRequest(clientFrame({ options: [53, 1, 3, 54, 4, 10, 0, 1, 1, 50, 4, 10, 0, 1, 5, 255] }));
    expect(sel).toMatchObject({ type: 'request', serverId: ip('10.0.1.1'), requestedIp: ip('10.0.1.5') });
    const renew = parseDhcpRequest(clientFrame({ ciaddr: '10.0.1.5', src: '10.0.1.5', dst: '10.0.1.1', options: [53, 1, 3, 255] }));
    expect(renew).toMatchObject({ type: 'request', ciaddr: ip('10.0.1.5'), ipSrc: ip('10.0.1.5') });
  });

  it.each([
    ['no END', [53, 1, 1]],
    ['an option overrunning the message', [53, 1, 1, 12, 200, 65, 255]],
    ['no length byte', [53, 1, 1, 12]],
    ['no message type', [50, 4, 10, 0, 1, 5, 255]],
    ['a repeated message type', [53, 1, 1, 53, 1, 3, 255]],
    ['a message type of 2 bytes', [53, 2, 1, 1, 255]],
    ['a server message type (OFFER)', [53, 1, 2, 255]],
    ['a requested IP of 3 bytes', [53, 1, 1, 50, 3, 1, 2, 3, 255]],
  ])('refuses %s with PacketError', (_why, options) => {
    expect(() => parseDhcpRequest(clientFrame({ options }))).toThrow(PacketError);
  });

  it('refuses the wrong ports, a BOOTREPLY, non-Ethernet hardware, no cookie, a fragment, lengths that lie', () => {
    expect(() => parseDhcpRequest(clientFrame({ sport: 67 }))).toThrow(/68 -> 67/);
    const mutate = (at: number, value: number): Uint8Array => {
      const f = clientFrame();
      f[at] = value;
      return f;
    };
    expect(() => parseDhcpRequest(mutate(42, 2))).toThrow(/BOOTREQUEST/);
    expect(() => parseDhcpRequest(mutate(43, 6))).toThrow(/Ethernet/);
    expect(() => parseDhcpRequest(mutate(42 + 236, 0))).toThrow(/cookie/);
    expect(() => parseDhcpRequest(mutate(20, 0x20))).toThrow(/fragment/);
    expect(() => parseDhcpRequest(mutate(38, 0xff))).toThrow(/UDP length/);
    expect(() => parseDhcpRequest(mutate(16, 0xff))).toThrow(/total length/);
    expect(() => parseDhcpRequest(clientFrame().subarray(0, 200))).toThrow(PacketError);
    expect(() => parseDhcpRequest(new Uint8Array(2000))).toThrow(/longer than/);
  });

  it('throws nothing but PacketError for any bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        try {
          parseDhcpRequest(bytes);
        } catch (e) {
          if (!(e instanceof PacketError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('throws nothing but PacketError for a valid message with bytes changed, cut or options replaced (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 80 }),
        fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(400),
        (options, edits, cut) => {
          const f = clientFrame({ options });
          for (const [at, value] of edits) if (at < f.length) f[at] = value;
          for (const frame of [f, f.subarray(0, Math.min(f.length, cut))]) {
            try {
              const r = parseDhcpRequest(frame);
              expect(r.chaddr.length).toBe(6);
            } catch (e) {
              if (!(e instanceof PacketError)) throw e;
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('buildDhcpReply', () => {
  it('builds an OFFER where RFC 2131 puts each byte, with every option, both checksums right', () => {
    const req = parseDhcpRequest(clientFrame());
    const f = buildDhcpReply({ type: 'offer', request: req, serverMac: GW_MAC, serverIp: ip('10.0.1.1'), lease: LEASE });
    expect([...f.subarray(0, 6)]).toEqual([...VM_MAC]); // unicast to chaddr: no broadcast bit
    expect([...f.subarray(6, 12)]).toEqual([...GW_MAC]);
    expect(internetChecksum(f, 14, 34)).toBe(0);
    expect(udpChecksumOk(f)).toBe(true);
    expect(u32(f, 26)).toBe(ip('10.0.1.1'));
    expect(u32(f, 30)).toBe(ip('10.0.1.5'));
    expect(f[42]).toBe(2);
    expect(u32(f, 42 + 4)).toBe(0xcafe0001);
    expect(u32(f, 42 + 16)).toBe(ip('10.0.1.5'));
    expect([...f.subarray(42 + 28, 42 + 34)]).toEqual([...VM_MAC]);
    expect(f.length - 42).toBeGreaterThanOrEqual(300);
    const o = optionsOf(f);
    expect([...o.get(53)!]).toEqual([2]);
    expect(u32(o.get(54))).toBe(ip('10.0.1.1'));
    expect(u32(o.get(51))).toBe(43200);
    expect(u32(o.get(58))).toBe(21600);
    expect(u32(o.get(59))).toBe(37800);
    expect(u32(o.get(1))).toBe(ip('255.255.255.0'));
    expect(u32(o.get(28))).toBe(ip('10.0.1.255'));
    expect(u32(o.get(3))).toBe(ip('10.0.1.1'));
    expect(u32(o.get(6))).toBe(ip('10.0.1.1'));
    expect([...o.get(26)!]).toEqual([1450 >> 8, 1450 & 0xff]);
    expect(o.has(121)).toBe(false);
  });

  it('addresses a broadcast-bit request to 255.255.255.255, a renewal to ciaddr, a NAK always broadcast', () => {
    const bc = buildDhcpReply({ type: 'offer', request: parseDhcpRequest(clientFrame({ flags: 0x8000 })), serverMac: GW_MAC, serverIp: ip('10.0.1.1'), lease: LEASE });
    expect(u32(bc, 30)).toBe(0xffffffff);
    expect([...bc.subarray(0, 6)]).toEqual([255, 255, 255, 255, 255, 255]);
    const renew = parseDhcpRequest(clientFrame({ ciaddr: '10.0.1.5', src: '10.0.1.5', dst: '10.0.1.1', options: [53, 1, 3, 255] }));
    const ack = buildDhcpReply({ type: 'ack', request: renew, serverMac: GW_MAC, serverIp: ip('10.0.1.1'), lease: LEASE });
    expect(u32(ack, 30)).toBe(ip('10.0.1.5'));
    expect(u32(ack, 42 + 12)).toBe(ip('10.0.1.5'));
    const nak = buildDhcpReply({ type: 'nak', request: renew, serverMac: GW_MAC, serverIp: ip('10.0.1.1'), message: 'not your address' });
    expect(u32(nak, 30)).toBe(0xffffffff);
    expect(u32(nak, 42 + 16)).toBe(0);
    expect([...optionsOf(nak).get(53)!]).toEqual([6]);
    expect(new TextDecoder().decode(optionsOf(nak).get(56))).toBe('not your address');
    expect(optionsOf(nak).has(51)).toBe(false);
  });

  it('encodes classless routes as RFC 3442 does, with the default route added (the client then ignores option 3)', () => {
    expect([...encodeClasslessRoutes([{ destination: ip('10.17.0.0'), prefixLength: 16, router: ip('10.0.1.1') }])]).toEqual([16, 10, 17, 10, 0, 1, 1]);
    expect([...encodeClasslessRoutes([{ destination: ip('192.168.1.0'), prefixLength: 27, router: ip('10.0.1.1') }])]).toEqual([27, 192, 168, 1, 0, 10, 0, 1, 1]);
    const f = buildDhcpReply({
      type: 'ack',
      request: parseDhcpRequest(clientFrame()),
      serverMac: GW_MAC,
      serverIp: ip('10.0.1.1'),
      lease: { ...LEASE, routes: [{ destination: ip('10.17.0.0'), prefixLength: 16, router: ip('10.0.1.254') }] },
    });
    expect([...optionsOf(f).get(121)!]).toEqual([16, 10, 17, 10, 0, 1, 254, 0, 10, 0, 1, 1]);
  });

  it('refuses a lease it cannot send (no lease, bad mask, MTU, lease time)', () => {
    const request = parseDhcpRequest(clientFrame());
    const base = { type: 'ack' as const, request, serverMac: GW_MAC, serverIp: ip('10.0.1.1') };
    expect(() => buildDhcpReply(base)).toThrow(RangeError);
    expect(() => buildDhcpReply({ ...base, lease: { ...LEASE, prefixLength: 31 } })).toThrow(RangeError);
    expect(() => buildDhcpReply({ ...base, lease: { ...LEASE, mtu: 100 } })).toThrow(RangeError);
    expect(() => buildDhcpReply({ ...base, lease: { ...LEASE, leaseSeconds: 1 } })).toThrow(RangeError);
  });

  const tcpdump = (() => {
    try {
      execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!tcpdump)('tcpdump -v reads our OFFER and ACK: type, options, checksums', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mc-dhcp-'));
    try {
      const frames = [
        buildDhcpReply({ type: 'offer', request: parseDhcpRequest(clientFrame()), serverMac: GW_MAC, serverIp: ip('10.0.1.1'), lease: LEASE }),
        buildDhcpReply({
          type: 'ack',
          request: parseDhcpRequest(clientFrame({ type: 3 })),
          serverMac: GW_MAC,
          serverIp: ip('10.0.1.1'),
          lease: { ...LEASE, routes: [{ destination: ip('10.17.0.0'), prefixLength: 16, router: ip('10.0.1.254') }], domain: 'cloud.internal' },
        }),
      ];
      // pcap: global header (Ethernet link type), then a record header per frame.
      const parts: Buffer[] = [];
      const g = Buffer.alloc(24);
      g.writeUInt32LE(0xa1b2c3d4, 0);
      g.writeUInt16LE(2, 4);
      g.writeUInt16LE(4, 6);
      g.writeUInt32LE(65535, 16);
      g.writeUInt32LE(1, 20);
      parts.push(g);
      for (const f of frames) {
        const h = Buffer.alloc(16);
        h.writeUInt32LE(f.length, 8);
        h.writeUInt32LE(f.length, 12);
        parts.push(h, Buffer.from(f));
      }
      const file = join(dir, 'dhcp.pcap');
      writeFileSync(file, Buffer.concat(parts));
      const out = execFileSync('tcpdump', ['-n', '-v', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
      expect(out).toMatch(/DHCP-Message \(53\), length 1: Offer/);
      expect(out).toMatch(/DHCP-Message \(53\), length 1: ACK/);
      expect(out).toMatch(/Your-IP 10\.0\.1\.5/);
      expect(out).toMatch(/Lease-Time \(51\), length 4: 43200/);
      expect(out).toMatch(/RN \(58\), length 4: 21600/);
      expect(out).toMatch(/RB \(59\), length 4: 37800/);
      expect(out).toMatch(/Subnet-Mask \(1\), length 4: 255\.255\.255\.0/);
      expect(out).toMatch(/Default-Gateway \(3\), length 4: 10\.0\.1\.1/);
      expect(out).toMatch(/MTU \(26\), length 2: 1450/);
      expect(out).toMatch(/Classless-Static-Route \(121\), length 12: \(10\.17\.0\.0\/16:10\.0\.1\.254\),\(default:10\.0\.1\.1\)/);
      expect(out).toMatch(/Domain-Name \(15\), length 14: "cloud\.internal"/);
      expect(out).not.toMatch(/bad (udp )?cksum|malformed|truncated/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
