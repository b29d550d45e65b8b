// A gateway's floating IPs on a real kernel (a namespace of this test, prefix mcfh): the NAT chains and addresses
// the spec asks for, in iptables' own text (hairpin SNAT included); a second run changes nothing; a change rewrites
// only what differs; the jump sits before the shared SNAT's whatever the order they were made in; an address added
// is announced by a gratuitous ARP (a neighbour namespace's stale entry for it moves to the link's MAC); removal
// leaves the node as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFloatingIps, FIP_DNAT_CHAIN, FIP_SNAT_CHAIN, removeFloatingIps } from '../../src/hosts/bootstrap/floating-ips.js';
import { ensureSnat, NAT_CHAIN, removeSnat } from '../../src/hosts/bootstrap/nat.js';
import { validateNodeSpec, type GatewaySpec } from '../../src/hosts/bootstrap/spec.js';
import { ValidationError } from '../../src/hosts/validate.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import { run } from '../../src/lab/exec.js';

const NS = 'mcfh-h1';
/** The outside router's side of the link: its neighbour table shows what the gratuitous ARPs announced. */
const PEER = 'mcfh-h2';
const STALE_MAC = '02:00:5e:00:00:99';
const exec = new NetnsExecutor(new LocalExecutor(), NS);
const base: GatewaySpec = { addresses: ['192.168.20.1/27'], overlayCidr: '192.168.20.0/22', egressInterface: 'eth1' };
const pool = ['203.0.113.10-203.0.113.20', '203.0.113.32-203.0.113.47'];

const nat = async (chain: string): Promise<string[]> => (await run('iptables', ['-t', 'nat', '-S', chain], { netns: NS })).split('\n').filter((l) => l.startsWith('-A'));
const addrs = async (): Promise<string[]> => {
  const [link] = JSON.parse(await run('ip', ['-j', 'addr', 'show', 'dev', 'eth1'], { netns: NS })) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
  return link!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort();
};

const neighbour = async (ip: string): Promise<string> => (await run('ip', ['neigh', 'show', ip, 'dev', 'out'], { netns: PEER })).trim();

beforeAll(async () => {
  for (const ns of [NS, PEER]) {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await run('ip', ['netns', 'add', ns]);
  }
  await run('ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'out', 'netns', PEER], { netns: NS });
  await run('ip', ['addr', 'add', '203.0.113.1/24', 'dev', 'eth1'], { netns: NS });
  await run('ip', ['link', 'set', 'eth1', 'up'], { netns: NS });
  await run('ip', ['addr', 'add', '203.0.113.254/24', 'dev', 'out'], { netns: PEER });
  await run('ip', ['link', 'set', 'out', 'up'], { netns: PEER });
  // The router once knew .10 and .33 on another MAC (another gateway's); locktime 0: any update is taken at once.
  await run('sysctl', ['-q', '-w', 'net.ipv4.neigh.out.locktime=0'], { netns: PEER });
  for (const ip of ['203.0.113.10', '203.0.113.33']) await run('ip', ['neigh', 'replace', ip, 'lladdr', STALE_MAC, 'dev', 'out', 'nud', 'stale'], { netns: PEER });
});

afterAll(async () => {
  for (const ns of [NS, PEER]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
});

describe('floating IPs on a gateway', () => {
  it('DNAT in, SNAT out ahead of the shared SNAT, /32s on the link; idempotent; reconciled; removed', async () => {
    // The shared SNAT first: the floating IPs' jump must still come before it.
    await ensureSnat(exec, base);
    const spec: GatewaySpec = {
      ...base,
      floatingIps: { interface: 'eth1', pool, hairpinSource: '203.0.113.1', attached: [{ address: '203.0.113.12', target: '192.168.20.5' }, { address: '203.0.113.10', target: '192.168.20.4' }] },
    };
    const mac = JSON.parse(await run('ip', ['-j', 'link', 'show', 'dev', 'eth1'], { netns: NS }))[0].address as string;
    expect(await neighbour('203.0.113.10')).toContain(STALE_MAC);
    const first = await ensureFloatingIps(exec, spec);
    expect(first).toContain('eth1: gratuitous ARP for 203.0.113.10, 203.0.113.12');
    expect(await neighbour('203.0.113.10')).toContain(`lladdr ${mac}`);
    expect(await nat(FIP_DNAT_CHAIN)).toEqual([
      `-A ${FIP_DNAT_CHAIN} -d 203.0.113.10/32 -m comment --comment minicloud-fip -j DNAT --to-destination 192.168.20.4`,
      `-A ${FIP_DNAT_CHAIN} -d 203.0.113.12/32 -m comment --comment minicloud-fip -j DNAT --to-destination 192.168.20.5`,
    ]);
    expect(await nat(FIP_SNAT_CHAIN)).toEqual([
      `-A ${FIP_SNAT_CHAIN} -s 192.168.20.4/32 ! -d 192.168.20.0/22 -o eth1 -m comment --comment minicloud-fip -j SNAT --to-source 203.0.113.10`,
      `-A ${FIP_SNAT_CHAIN} -s 192.168.20.5/32 ! -d 192.168.20.0/22 -o eth1 -m comment --comment minicloud-fip -j SNAT --to-source 203.0.113.12`,
      // Hairpin: a VM reaching a floating IP from br0 is SNATed too (to its own floating IP, else the gateway's address).
      `-A ${FIP_SNAT_CHAIN} -s 192.168.20.4/32 -o br0 -m conntrack --ctstate DNAT -m comment --comment minicloud-fip -j SNAT --to-source 203.0.113.10`,
      `-A ${FIP_SNAT_CHAIN} -s 192.168.20.5/32 -o br0 -m conntrack --ctstate DNAT -m comment --comment minicloud-fip -j SNAT --to-source 203.0.113.12`,
      `-A ${FIP_SNAT_CHAIN} -s 192.168.20.0/22 -o br0 -m conntrack --ctstate DNAT -m comment --comment minicloud-fip -j SNAT --to-source 203.0.113.1`,
    ]);
    // The transit range's VMs hairpin from the same address.
    const withTransit: GatewaySpec = { ...spec, transitCidr: '100.64.0.0/16' };
    await ensureFloatingIps(exec, withTransit);
    expect((await nat(FIP_SNAT_CHAIN)).at(-1)).toBe(`-A ${FIP_SNAT_CHAIN} -s 100.64.0.0/16 -o br0 -m conntrack --ctstate DNAT -m comment --comment minicloud-fip -j SNAT --to-source 203.0.113.1`);
    expect(await ensureFloatingIps(exec, withTransit)).toEqual([]);
    await ensureFloatingIps(exec, spec);
    expect(await nat('POSTROUTING')).toEqual([`-A POSTROUTING -j ${FIP_SNAT_CHAIN}`, `-A POSTROUTING -j ${NAT_CHAIN}`]);
    expect(await nat('PREROUTING')).toEqual([`-A PREROUTING -j ${FIP_DNAT_CHAIN}`]);
    expect(await nat('OUTPUT')).toEqual([`-A OUTPUT -j ${FIP_DNAT_CHAIN}`]);
    expect(await addrs()).toEqual(['203.0.113.1/24', '203.0.113.10/32', '203.0.113.12/32']);
    expect(await ensureFloatingIps(exec, spec)).toEqual([]);
    expect(await ensureSnat(exec, base)).toEqual([]);

    // One detached, another attached; a /32 outside the pool (not ours) is left alone.
    await run('ip', ['addr', 'add', '203.0.113.200/32', 'dev', 'eth1'], { netns: NS });
    const next: GatewaySpec = { ...base, floatingIps: { interface: 'eth1', pool, attached: [{ address: '203.0.113.12', target: '192.168.20.5' }, { address: '203.0.113.33', target: '192.168.20.9' }] } };
    const changes = await ensureFloatingIps(exec, next);
    expect(changes).toContain('eth1: floating IP 203.0.113.10 removed');
    expect(changes).toContain('eth1: floating IP 203.0.113.33 added');
    expect(changes).toContain('eth1: gratuitous ARP for 203.0.113.33');
    expect(await neighbour('203.0.113.33')).toContain(`lladdr ${mac}`);
    expect((await nat(FIP_DNAT_CHAIN)).map((l) => l.split(' ')[3])).toEqual(['203.0.113.12/32', '203.0.113.33/32']);
    expect(await addrs()).toEqual(['203.0.113.1/24', '203.0.113.12/32', '203.0.113.200/32', '203.0.113.33/32']);
    expect(await ensureFloatingIps(exec, next)).toEqual([]);

    // The shared SNAT's jump made again after ours (e.g. its chain removed and made again): ours moves ahead.
    await removeSnat(exec);
    await ensureSnat(exec, base);
    await run('iptables', ['-t', 'nat', '-D', 'POSTROUTING', '-j', FIP_SNAT_CHAIN], { netns: NS });
    await run('iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-j', FIP_SNAT_CHAIN], { netns: NS });
    expect(await ensureFloatingIps(exec, next)).toEqual([`iptables nat: POSTROUTING jumps to ${FIP_SNAT_CHAIN} first`]);
    expect(await nat('POSTROUTING')).toEqual([`-A POSTROUTING -j ${FIP_SNAT_CHAIN}`, `-A POSTROUTING -j ${NAT_CHAIN}`]);

    await removeFloatingIps(exec, next.floatingIps);
    await removeSnat(exec);
    expect([await nat('PREROUTING'), await nat('POSTROUTING'), await nat('OUTPUT')]).toEqual([[], [], []]);
    await expect(run('iptables', ['-t', 'nat', '-S', FIP_DNAT_CHAIN], { netns: NS })).rejects.toThrow();
    expect(await addrs()).toEqual(['203.0.113.1/24', '203.0.113.200/32']);
    expect(await removeFloatingIps(exec, next.floatingIps)).toEqual([]);
  }, 60_000);

  it('a spec with a bad floating IP is refused before any command runs', () => {
    const spec = (floatingIps: unknown) => ({ name: 'mcfip-gw', roles: ['gateway' as const], tunnelIp: '10.0.0.1', controller: 'tcp:127.0.0.1:6653', gateway: { ...base, floatingIps } as GatewaySpec });
    expect(() => validateNodeSpec(spec({ interface: 'eth1; reboot', pool, attached: [] }))).toThrow(ValidationError);
    expect(() => validateNodeSpec(spec({ interface: 'eth1', pool: ['203.0.113.10-x'], attached: [] }))).toThrow(ValidationError);
    expect(() => validateNodeSpec(spec({ interface: 'eth1', pool, attached: [{ address: '203.0.113.10', target: '-j ACCEPT' }] }))).toThrow(ValidationError);
    expect(() => validateNodeSpec(spec({ interface: 'eth1', pool, attached: [{ address: '203.0.113.10', target: '10.0.0.5' }, { address: '203.0.113.10', target: '10.0.0.6' }] }))).toThrow(ValidationError);
    expect(() => validateNodeSpec(spec({ interface: 'eth1', pool, attached: [], hairpinSource: '203.0.113.1 -j ACCEPT' }))).toThrow(ValidationError);
    expect(() => validateNodeSpec(spec({ interface: 'eth1', pool, attached: [{ address: '203.0.113.10', target: '10.0.0.5' }] }))).not.toThrow();
  });
});
