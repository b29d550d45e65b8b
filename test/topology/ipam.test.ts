import { describe, expect, it } from 'vitest';
import { parseFlavor, formatMemory } from '../../src/topology/flavors.js';
import { cidrText, isLocalUnicastMac, nextFreeBlock, nextFreeIp, nextFreeMac, nextFreeVni, overlaps, usableHosts, within } from '../../src/topology/ipam.js';
import { ipv4ToNumber, parseCidr } from '../../src/topology/model.js';

const overlay = parseCidr('192.168.20.0/22');
const c = (s: string) => parseCidr(s);

describe('nextFreeBlock', () => {
  it('carves /27s in order, like the seed create_subnet(27)', () => {
    const used: ReturnType<typeof parseCidr>[] = [];
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = nextFreeBlock(overlay, 27, used)!;
      used.push(b);
      got.push(cidrText(b));
    }
    expect(got).toEqual(['192.168.20.0/27', '192.168.20.32/27', '192.168.20.64/27']);
  });

  it('fills holes and skips past blocks of other sizes, staying aligned', () => {
    expect(cidrText(nextFreeBlock(overlay, 27, [c('192.168.20.32/27')])!)).toBe('192.168.20.0/27');
    expect(cidrText(nextFreeBlock(overlay, 26, [c('192.168.20.32/27')])!)).toBe('192.168.20.64/26');
    expect(cidrText(nextFreeBlock(overlay, 24, [c('192.168.20.0/30'), c('192.168.21.128/25')])!)).toBe('192.168.22.0/24');
  });

  it('returns undefined when the range is full or the prefix does not fit', () => {
    expect(nextFreeBlock(overlay, 22, [c('192.168.23.252/30')])).toBeUndefined();
    expect(nextFreeBlock(overlay, 21, [])).toBeUndefined();
    const all = Array.from({ length: 32 }, (_, i) => ({ network: overlay.network + i * 32, prefix: 27 }));
    expect(nextFreeBlock(overlay, 27, all)).toBeUndefined();
    expect(cidrText(nextFreeBlock(overlay, 27, all.slice(1))!)).toBe('192.168.20.0/27');
  });

  it('is fast on a large range', () => {
    const big = parseCidr('10.0.0.0/8');
    const used = Array.from({ length: 5000 }, (_, i) => ({ network: big.network + i * 4, prefix: 30 }));
    expect(cidrText(nextFreeBlock(big, 30, used)!)).toBe('10.0.78.32/30');
  });
});

describe('addresses', () => {
  it('overlaps / within', () => {
    expect(overlaps(c('192.168.20.0/27'), c('192.168.20.16/28'))).toBe(true);
    expect(overlaps(c('192.168.20.0/27'), c('192.168.20.32/27'))).toBe(false);
    expect(within(c('192.168.20.32/27'), overlay)).toBe(true);
    expect(within(c('192.168.24.0/27'), overlay)).toBe(false);
    expect(within(c('192.168.16.0/20'), overlay)).toBe(false);
  });

  it('gives VMs the lowest free address, never network, gateway or broadcast', () => {
    const s = c('192.168.20.0/30');
    expect(usableHosts(s)).toBe(1);
    expect(nextFreeIp(s, new Set())).toBe('192.168.20.2');
    expect(nextFreeIp(s, new Set(['192.168.20.2']))).toBeUndefined();
    expect(nextFreeIp(c('192.168.20.32/27'), new Set(['192.168.20.34']))).toBe('192.168.20.35');
  });

  it('MACs are locally administered unicast, embed the IP, and avoid taken ones', () => {
    const ip = ipv4ToNumber('192.168.20.5');
    const mac = nextFreeMac(ip, new Set());
    expect(mac).toBe('02:00:c0:a8:14:05');
    expect(isLocalUnicastMac(mac)).toBe(true);
    const other = nextFreeMac(ip, new Set([mac]));
    expect(other).toBe('02:01:00:00:00:00');
    expect(isLocalUnicastMac(other)).toBe(true);
    expect(nextFreeMac(ip, new Set([mac, other]))).toBe('02:01:00:00:00:01');
  });

  it('VNIs: lowest free from 1', () => {
    expect(nextFreeVni(new Set())).toBe(1);
    expect(nextFreeVni(new Set([1, 2, 4]))).toBe(3);
  });
});

describe('flavors', () => {
  it.each([
    ['4C8G', 4, 8192],
    ['4c8g', 4, 8192],
    ['2C512M', 2, 512],
    ['small', 1, 2048],
    ['Medium', 2, 4096],
  ])('%s', (text, cpus, memoryMiB) => {
    expect(parseFlavor(text)).toEqual({ cpus, memoryMiB });
  });

  it.each(['', '4C', '8G', '0C1G', '4C0G', 'huge', '4C8T', '999C1G', '1C32M'])('rejects %j with a reason', (text) => {
    const f = parseFlavor(text);
    expect('error' in f && f.error).toMatch(/'.*'/);
  });

  it('formats memory', () => {
    expect([formatMemory(512), formatMemory(8192), formatMemory(1536)]).toEqual(['512 MiB', '8 GiB', '1.5 GiB']);
  });
});
