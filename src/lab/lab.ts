// The lab's machinery (docs/lab.md): an underlay (a Linux bridge in a namespace of its own), nodes as namespaces each
// with its own OVS instance and a veth `eth0` into the underlay, and an "outside world" namespace behind the gateways
// (203.0.113.0/24 between them, 198.51.100.0/24 as "the internet"). The lab does only what a machine room would:
// cables and daemons. Bridges, tunnels, addresses, NAT and DHCP are the controller's provisioning (bootstrap through
// the namespace executor); the lab links the controller's unix socket into each node's run directory so br0 can
// reach it (lab.md: OVS only connects to unix sockets inside its run directory, but follows a symlink).
import { mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { OvsInstance } from './ovs.js';

export type LabRole = 'compute' | 'gateway' | 'switch' | 'dhcp';

export interface LabNodeDef {
  /** Node name = namespace name = OVS run directory name. */
  readonly name: string;
  readonly roles: readonly LabRole[];
  readonly underlayIp: string;
  readonly az?: string;
  /** Gateways: the address on the outside link (eth1), also the source their SNAT gives egress traffic. */
  readonly outsideIp?: string;
  /** The node record's `[user@]host[:port]`: the controller reaches the node over SSH instead of `ip netns exec`. */
  readonly sshTarget?: string;
}

export const UNDERLAY_PREFIX_LENGTH = 24;
export const UNDERLAY_DEVICE = 'eth0';
export const EGRESS_DEVICE = 'eth1';
/** The outside namespace's address on the gateways' link, their default route. */
export const OUTSIDE_ROUTER = '203.0.113.254';
/** "The internet": held by the outside namespace. */
export const INTERNET_HOST = '198.51.100.1';

/** The standard topology: 2 gateways, `computes` compute nodes, a switch and a DHCP node, in two AZs. */
export function standardNodes(prefix: string, computes = 2): LabNodeDef[] {
  return [
    { name: `${prefix}-gw1`, roles: ['gateway'], underlayIp: '10.99.0.1', az: 'AZ-1', outsideIp: '203.0.113.1' },
    { name: `${prefix}-gw2`, roles: ['gateway'], underlayIp: '10.99.0.2', az: 'AZ-2', outsideIp: '203.0.113.2' },
    ...Array.from({ length: computes }, (_, i): LabNodeDef => ({ name: `${prefix}-c${i + 1}`, roles: ['compute'], underlayIp: `10.99.0.${11 + i}`, az: i % 2 === 0 ? 'AZ-1' : 'AZ-2' })),
    { name: `${prefix}-sw`, roles: ['switch'], underlayIp: '10.99.0.100' },
    { name: `${prefix}-dhcp`, roles: ['dhcp'], underlayIp: '10.99.0.101' },
  ];
}

export interface LabOptions {
  /** Every namespace this lab makes starts with `${prefix}-`. Lower-case letters and digits, 1-6 characters. */
  readonly prefix: string;
  /** Node run directories go in `<nodesDir>/<node>`. */
  readonly nodesDir: string;
  /** The controller's unix socket, linked into each node's run directory as `controller.sock`. */
  readonly controllerSocket: string;
  /** More controllers' sockets (several controllers, `provisioning.controller`), linked in as `controller-<i>.sock`, i from 1. */
  readonly moreControllerSockets?: readonly string[];
  readonly nodes: readonly LabNodeDef[];
}

export class Lab {
  readonly underlayNs: string;
  readonly outsideNs: string;
  readonly ovs = new Map<string, OvsInstance>();
  private stopped = false;

  private constructor(readonly opts: LabOptions) {
    this.underlayNs = `${opts.prefix}-ul`;
    this.outsideNs = `${opts.prefix}-out`;
  }

  static async start(opts: LabOptions): Promise<Lab> {
    if (!/^[a-z][a-z0-9]{0,5}$/.test(opts.prefix)) throw new Error(`bad lab prefix '${opts.prefix}'`);
    for (const n of opts.nodes) if (!n.name.startsWith(`${opts.prefix}-`)) throw new Error(`lab node ${n.name} must start with ${opts.prefix}-`);
    const lab = new Lab(opts);
    try {
      await lab.build();
      return lab;
    } catch (e) {
      await lab.stop();
      throw e;
    }
  }

  node(name: string): OvsInstance {
    const o = this.ovs.get(name);
    if (!o) throw new Error(`no lab node ${name}`);
    return o;
  }

  /** Runs a command in the outside namespace. */
  outside(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return run(cmd, args, { netns: this.outsideNs, ...(timeoutMs !== undefined && { timeoutMs }) });
  }

  /** Runs a command in the underlay namespace (e.g. tcpdump on its bridge `ul`). */
  underlay(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return run(cmd, args, { netns: this.underlayNs, ...(timeoutMs !== undefined && { timeoutMs }) });
  }

  /**
   * Every node sends an ARP request for every other node's underlay address from br-phy, so OVS's tunnel neighbour
   * cache (it snoops the ARP replies passing through br-phy) is warm: without it the first VXLAN packet to each node
   * is dropped while OVS resolves it. An explicit ARP request (busybox arping), not a ping: a ping finds the peer's
   * MAC in the kernel's neighbour table whenever the peer's own request came first (as it does when all pairs go at
   * once) and then sends no ARP at all, leaving OVS's cache empty for that peer. Needs the nodes provisioned (the
   * address is on br-phy). With `only`, just the pairs that node is in (e.g. a node added again). Returns how many
   * pairs answered.
   */
  async warmUnderlay(only?: string): Promise<number> {
    const nodes = this.opts.nodes;
    const results = await Promise.all(
      nodes.flatMap((a) =>
        nodes
          .filter((b) => b !== a && (only === undefined || a.name === only || b.name === only))
          .map((b) => run('busybox', ['arping', '-f', '-c', '3', '-w', '3', '-I', 'br-phy', b.underlayIp], { netns: a.name, timeoutMs: 5000 }).then(() => 1, () => 0)),
      ),
    );
    return results.reduce<number>((x, y) => x + y, 0);
  }

  private async build(): Promise<void> {
    const { nodes, nodesDir } = this.opts;
    await mkdir(nodesDir, { recursive: true });
    await addNamespace(this.underlayNs);
    await run('ip', ['link', 'add', 'ul', 'type', 'bridge'], { netns: this.underlayNs });
    await run('ip', ['link', 'set', 'ul', 'up'], { netns: this.underlayNs });
    await addNamespace(this.outsideNs);
    const out = this.outsideNs;
    await run('ip', ['link', 'add', 'out', 'type', 'bridge'], { netns: out });
    await run('ip', ['addr', 'add', `${OUTSIDE_ROUTER}/24`, 'dev', 'out'], { netns: out });
    await run('ip', ['link', 'set', 'out', 'up'], { netns: out });
    // No dummy module on these machines: "the internet" is an address on the outside namespace's loopback.
    await run('ip', ['addr', 'add', `${INTERNET_HOST}/32`, 'dev', 'lo'], { netns: out });

    // OVS instances start in parallel (each takes a moment to come up); the cabling after is quick.
    await Promise.all(
      nodes.map(async (n) => {
        const ovs = await OvsInstance.start({ name: n.name, baseDir: nodesDir });
        this.ovs.set(n.name, ovs);
        await symlink(this.opts.controllerSocket, join(ovs.dir, 'controller.sock'));
        for (const [i, socket] of (this.opts.moreControllerSockets ?? []).entries()) await symlink(socket, join(ovs.dir, `controller-${i + 1}.sock`));
      }),
    );
    for (const [i, n] of nodes.entries()) {
      const port = `ulp${i}`;
      await run('ip', ['link', 'add', port, 'netns', this.underlayNs, 'type', 'veth', 'peer', 'name', UNDERLAY_DEVICE, 'netns', n.name]);
      await run('ip', ['link', 'set', port, 'master', 'ul', 'up'], { netns: this.underlayNs });
      await run('ip', ['link', 'set', UNDERLAY_DEVICE, 'up'], { netns: n.name });
      // lab.md: a veth end sending into a userspace (netdev) bridge must not leave checksums to offload.
      await run('ethtool', ['-K', port, 'tx', 'off'], { netns: this.underlayNs });
      await run('ethtool', ['-K', UNDERLAY_DEVICE, 'tx', 'off'], { netns: n.name });
      if (n.outsideIp !== undefined) {
        const op = `outp${i}`;
        await run('ip', ['link', 'add', op, 'netns', out, 'type', 'veth', 'peer', 'name', EGRESS_DEVICE, 'netns', n.name]);
        await run('ip', ['link', 'set', op, 'master', 'out', 'up'], { netns: out });
        await run('ip', ['addr', 'add', `${n.outsideIp}/24`, 'dev', EGRESS_DEVICE], { netns: n.name });
        await run('ip', ['link', 'set', EGRESS_DEVICE, 'up'], { netns: n.name });
        await run('ip', ['route', 'add', 'default', 'via', OUTSIDE_ROUTER], { netns: n.name });
      }
    }
  }

  /** Removes every namespace, OVS instance and link this lab made. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Processes the nodes run besides OVS (dnsmasq) first: once OvsInstance.stop deletes a namespace they are
    // out of reach (`ip netns pids` needs the name) and would keep it alive.
    for (const n of this.opts.nodes) await killNamespaceProcesses(n.name, (cmd) => !/^ovs(db-server|-vswitchd)/.test(cmd));
    await Promise.all([...this.ovs.values()].map((o) => o.stop().catch(() => undefined)));
    for (const ns of [...this.opts.nodes.map((n) => n.name), this.underlayNs, this.outsideNs]) await deleteNamespace(ns);
    await rm(this.opts.nodesDir, { recursive: true, force: true });
  }
}

async function addNamespace(ns: string): Promise<void> {
  await deleteNamespace(ns);
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'set', 'lo', 'up'], { netns: ns });
}

/** SIGKILLs the processes inside the namespace whose command line `which` accepts (default: all). */
async function killNamespaceProcesses(ns: string, which: (cmdline: string) => boolean = () => true): Promise<void> {
  const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    if (!which(cmdline)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Ends the processes inside the namespace (they would keep it alive), then deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  await killNamespaceProcesses(ns);
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

/** Namespaces whose name starts with one of the prefixes. */
export async function namespacesWith(...prefixes: string[]): Promise<string[]> {
  const out = await run('ip', ['-j', 'netns', 'list']).catch(() => '[]');
  const list = (out.trim() ? JSON.parse(out) : []) as { name: string }[];
  return list.map((n) => n.name).filter((n) => prefixes.some((p) => n.startsWith(p)));
}

/**
 * Removes what a crashed run with this prefix left: namespaces `${prefix}-*` (nodes, underlay, outside) and
 * `${prefix}v-*` (VMs) with the processes inside them (its OVS daemons, dnsmasq, udhcpc), their /etc/netns files,
 * and the run directory. Returns the namespaces it removed.
 */
export async function cleanupLab(prefix: string, dir?: string): Promise<string[]> {
  const found = await namespacesWith(`${prefix}-`, `${prefix}v-`);
  for (const ns of found) await deleteNamespace(ns);
  const etc = await readdir('/etc/netns').catch(() => [] as string[]);
  for (const d of etc) if (d.startsWith(`${prefix}v-`)) await rm(join('/etc/netns', d), { recursive: true, force: true });
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  return found;
}
