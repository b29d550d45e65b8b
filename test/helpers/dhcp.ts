// DHCP client messages for tests (test/packets/dhcp.test.ts, test/daemon/dhcp.test.ts).
import { internetChecksum } from '../../src/packets/index.js';
import { ipv4ToNumber as ip } from '../../src/topology/model.js';

const mac = (s: string): Uint8Array => new Uint8Array(s.split(':').map((h) => parseInt(h, 16)));
export const CLIENT_MAC = mac('02:00:00:00:0a:01');

export interface ClientOpts {
  chaddr?: Uint8Array;
  type?: number;
  flags?: number;
  ciaddr?: string;
  src?: string;
  dst?: string;
  options?: number[];
  sport?: number;
}

/** A client message as udhcpc would send it: Ethernet + IPv4 + UDP 68 -> 67 + BOOTP + options. */
export function clientFrame(o: ClientOpts = {}): Uint8Array {
  const opts = o.options ?? [53, 1, o.type ?? 1, 50, 4, 10, 0, 1, 5, 55, 3, 1, 3, 6, 255];
  const bootpLen = 240 + opts.length;
  const udpLen = 8 + bootpLen;
  const f = new Uint8Array(14 + 20 + udpLen);
  const v = new DataView(f.buffer);
  f.set(mac('ff:ff:ff:ff:ff:ff'), 0);
  f.set(CLIENT_MAC, 6);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + udpLen);
  v.setUint8(22, 64);
  v.setUint8(23, 17);
  v.setUint32(26, ip(o.src ?? '0.0.0.0'));
  v.setUint32(30, ip(o.dst ?? '255.255.255.255'));
  v.setUint16(24, internetChecksum(f, 14, 34));
  v.setUint16(34, o.sport ?? 68);
  v.setUint16(36, 67);
  v.setUint16(38, udpLen);
  const b = 42;
  f[b] = 1;
  f[b + 1] = 1;
  f[b + 2] = 6;
  v.setUint32(b + 4, 0xcafe0001);
  v.setUint16(b + 10, o.flags ?? 0);
  v.setUint32(b + 12, ip(o.ciaddr ?? '0.0.0.0'));
  f.set(o.chaddr ?? CLIENT_MAC, b + 28);
  v.setUint32(b + 236, 0x63825363);
  f.set(opts, b + 240);
  return f;
}

