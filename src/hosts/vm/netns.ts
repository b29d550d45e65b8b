// The `netns` backend: a VM is a network namespace with a veth whose peer is a port of the node's br0 (lab.md).
// For the lab and the demo; same lifecycle as LXD. "Running" means the VM's eth0 is up and configured.
import { BRIDGE } from '../../topology/model.js';
import { ExecError, type ExecOptions, type ExecResult, type Executor } from '../executor.js';
import { readNodeFile, removeNodeFiles, writeNodeFiles } from '../files.js';
import { mapArgs, vsctl } from '../ovsdb.js';
import { silentLogger, type Logger } from '../types.js';
import { assertNetnsName, assertPath, assertVmInstance } from '../validate.js';
import {
  MacMismatchError,
  portNameFor,
  validateStoredVmSpec,
  validateVmSpec,
  VmExistsError,
  VmNotFoundError,
  withRollback,
  type VmDriver,
  type VmInfo,
  type VmSpec,
} from './driver.js';
import { resolvConf, UDHCPC_SCRIPT } from './guest-files.js';

export interface NetnsVmDriverOptions {
  /** Runs OVS commands and owns the port side: the node (in the lab, an executor inside the node's namespace). */
  readonly node: Executor;
  /**
   * Creates namespaces and runs commands inside VMs: the node's root namespace. Namespaces cannot be created from
   * inside `ip netns exec` (the new mount would not propagate), so a lab node passes the machine here. Default: node.
   */
  readonly host?: Executor;
  /** When the node itself is a namespace (the lab): its name, where the port end of the veth goes. */
  readonly nodeNetns?: string;
  readonly bridge?: string;
  /** VM records and the udhcpc script, on the host. */
  readonly stateDir: string;
  /** Namespace name = prefix + VM name. Default 'vm-'. */
  readonly netnsPrefix?: string;
  readonly logger?: Logger;
}

interface VmRecord {
  readonly spec: VmSpec;
  readonly port: string;
}

/** An interface as `ip -j addr show` prints it (what is read of it). */
interface LinkJson {
  readonly flags: string[];
  readonly address: string;
  readonly addr_info: { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}

function toVmInfo(name: string, link: LinkJson | undefined, rec: VmRecord | undefined): VmInfo {
  return {
    name,
    state: link?.flags.includes('UP') ? 'running' : 'stopped',
    mac: link?.address ?? rec?.spec.mac ?? '',
    port: rec?.port ?? portNameFor(name),
    addresses: (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

export class NetnsVmDriver implements VmDriver {
  readonly kind = 'netns' as const;
  private readonly node: Executor;
  private readonly host: Executor;
  private readonly bridge: string;
  private readonly logger: Logger;

  constructor(private readonly options: NetnsVmDriverOptions) {
    this.node = options.node;
    this.host = options.host ?? options.node;
    this.bridge = options.bridge ?? BRIDGE;
    this.logger = options.logger ?? silentLogger;
    assertPath('stateDir', options.stateDir);
    if (options.nodeNetns !== undefined) assertNetnsName('nodeNetns', options.nodeNetns);
  }

  netnsOf(name: string): string {
    return assertNetnsName('VM namespace', `${this.options.netnsPrefix ?? 'vm-'}${assertVmInstance('VM instance name', name)}`);
  }

  async create(spec: VmSpec): Promise<VmInfo> {
    validateVmSpec(spec);
    const ns = this.netnsOf(spec.name);
    const port = spec.port ?? portNameFor(spec.name);
    const mac = spec.mac.toLowerCase();
    // The namespace first, and only if it is not there: a VM of that name (ours or not) is never touched, and no
    // second VM of the name can slip in between a check and the create.
    const added = await this.host.run(['ip', 'netns', 'add', ns], { okCodes: [0, 1] });
    if (added.code !== 0) {
      if (/File exists/.test(added.stderr)) throw new VmExistsError(spec.name);
      throw new ExecError(this.host.target, ['ip', 'netns', 'add', ns], added.code, added.stdout, added.stderr);
    }
    this.logger.info({ vm: spec.name, port, mac, backend: this.kind }, 'creating VM');
    // Every step is one command, as few as can be: a VM create on a loaded controller is mostly process starts.
    return withRollback(
      async () => {
        await writeNodeFiles(this.host, [
          { path: this.recordPath(spec.name), content: JSON.stringify({ spec: { ...spec, mac }, port } satisfies VmRecord) },
          { path: this.scriptPath, content: UDHCPC_SCRIPT, mode: '0755' },
          // ip netns exec binds /etc/netns/NS/resolv.conf over /etc/resolv.conf: the VM's own resolver config.
          { path: `/etc/netns/${ns}/resolv.conf`, content: spec.network.mode === 'static' ? resolvConf(spec.network.dns) : '' },
        ]);
        // The port end up from the start; the VM's end (eth0, our MAC) goes into the VM's namespace.
        await this.host.run([
          'ip', 'link', 'add', port, ...(this.options.nodeNetns ? ['netns', this.options.nodeNetns] : []), 'up',
          'type', 'veth', 'peer', 'name', 'eth0', 'address', mac, 'netns', ns,
        ]);
        // One transaction: the port on br0 with our attachment (a leftover port of that name on br0 is taken over and
        // given our external_ids), and the bridge's datapath type.
        const onBridge = await vsctl(this.node, [
          '--may-exist', 'add-port', this.bridge, port,
          '--', 'set', 'interface', port, ...mapArgs('external_ids', { 'vm-name': spec.name, 'attached-mac': mac }),
          '--', 'get', 'bridge', this.bridge, 'datapath_type',
        ]);
        if (onBridge.stdout.trim() === 'netdev') {
          // lab.md: over a userspace bridge, TCP/UDP (so DHCP) arrive with bad checksums unless TX offload is off.
          await this.node.run(['ethtool', '-K', port, 'tx', 'off']);
          await this.inVm(ns, ['ethtool', '-K', 'eth0', 'tx', 'off']);
        }
        const shown = await this.startNetwork(spec.name, ns, spec);
        // Static addressing: the batch that configured eth0 showed it too. DHCP: once the client had its first try.
        const info = shown !== undefined ? toVmInfo(spec.name, shown, { spec, port }) : await this.linkInfo(spec.name, ns, { spec, port });
        if (info.mac !== mac) throw new MacMismatchError(spec.name, 'eth0', mac, info.mac);
        return info;
      },
      () => this.delete(spec.name),
    );
  }

  async start(name: string): Promise<void> {
    const rec = await this.record(name);
    await this.startNetwork(name, this.netnsOf(name), rec.spec);
  }

  /**
   * Brings the VM's network up (one `ip -batch` in its namespace: lo, eth0 with its MTU, the static address and
   * default route, and eth0 as it is then) or starts its DHCP client. Answers eth0 with static addressing.
   */
  private async startNetwork(name: string, ns: string, spec: VmSpec): Promise<LinkJson | undefined> {
    // Only the VM's end gets the MTU: the port end keeps 1500, so a VM whose MTU is raised by hand still reaches br0
    // (a veth drops what exceeds its receiver's MTU, silently) and gets "fragmentation needed" from table 20 instead.
    const lines = ['link set lo up', `link set eth0${spec.mtu !== undefined ? ` mtu ${spec.mtu}` : ''} up`];
    const net = spec.network;
    if (net.mode === 'static') {
      lines.push(`addr replace ${net.address} dev eth0`);
      if (net.gateway) lines.push(`route replace default via ${net.gateway} dev eth0`);
      lines.push('addr show dev eth0');
    }
    const { stdout } = await this.host.run(['ip', '-n', ns, '-j', '-batch', '-'], { input: `${lines.join('\n')}\n` });
    if (net.mode !== 'static') {
      await this.stopDhcpClient(name);
      // -b: tries briefly, then keeps trying in the background; a VM must not wait for its port's flows.
      await this.inVm(ns, ['busybox', 'udhcpc', '-b', '-i', 'eth0', '-s', this.scriptPath, '-p', this.dhcpPidPath(name), '-t', '2', '-T', '1', '-A', '1', '-O', 'mtu', '-x', `hostname:${spec.hostname ?? name}`]);
    }
    this.logger.info({ vm: name, backend: this.kind }, 'VM started');
    return net.mode === 'static' ? (JSON.parse(stdout) as LinkJson[])[0] : undefined;
  }

  async stop(name: string): Promise<void> {
    await this.record(name);
    await this.stopDhcpClient(name);
    await this.inVm(this.netnsOf(name), ['ip', 'link', 'set', 'eth0', 'down']);
    this.logger.info({ vm: name, backend: this.kind }, 'VM stopped');
  }

  async delete(name: string): Promise<void> {
    const ns = this.netnsOf(name);
    const port = (await this.record(name).catch(() => undefined))?.port ?? portNameFor(name);
    if (await this.exists(name)) {
      // Processes in the namespace (udhcpc, anything exec'd) would keep it alive after `ip netns del`.
      const pids = (await this.host.run(['ip', 'netns', 'pids', ns])).stdout.split('\n').filter((p) => /^\d+$/.test(p));
      if (pids.length) await this.host.run(['kill', '-KILL', ...pids], { okCodes: [0, 1] });
      await this.host.run(['ip', 'netns', 'del', ns]);
    }
    // The veth pair dies with the namespace; a port whose namespace was never made is removed here.
    await vsctl(this.node, ['--if-exists', 'del-port', this.bridge, port]);
    await this.node.run(['ip', 'link', 'del', port], { okCodes: [0, 1] });
    await removeNodeFiles(this.host, `/etc/netns/${ns}/resolv.conf`, this.recordPath(name), this.dhcpPidPath(name));
    await this.host.run(['rmdir', '--', `/etc/netns/${ns}`], { okCodes: [0, 1] });
    this.logger.info({ vm: name, backend: this.kind }, 'VM deleted');
  }

  async exec(name: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    if (!(await this.exists(name))) throw new VmNotFoundError(name);
    return this.inVm(this.netnsOf(name), argv, opts);
  }

  async info(name: string): Promise<VmInfo | undefined> {
    if (!(await this.exists(name))) return undefined;
    const rec = await this.record(name).catch(() => undefined);
    return this.linkInfo(name, this.netnsOf(name), rec);
  }

  /** The VM as its eth0 shows it (state, MAC, addresses), one command in its namespace. */
  private async linkInfo(name: string, ns: string, rec: VmRecord | undefined): Promise<VmInfo> {
    const r = await this.host.run(['ip', '-n', ns, '-j', 'addr', 'show', 'dev', 'eth0'], { okCodes: [0, 1] });
    return toVmInfo(name, r.code === 0 ? (JSON.parse(r.stdout) as LinkJson[])[0] : undefined, rec);
  }

  private get scriptPath(): string {
    return `${this.options.stateDir}/udhcpc.script`;
  }

  private recordPath(name: string): string {
    return `${this.options.stateDir}/${assertVmInstance('VM instance name', name)}.json`;
  }

  private dhcpPidPath(name: string): string {
    return `${this.options.stateDir}/${assertVmInstance('VM instance name', name)}.udhcpc.pid`;
  }

  private inVm(ns: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.host.run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  private async exists(name: string): Promise<boolean> {
    const ns = this.netnsOf(name);
    const { stdout } = await this.host.run(['ip', '-j', 'netns', 'list']);
    const list = (stdout.trim() ? JSON.parse(stdout) : []) as { name: string }[];
    return list.some((n) => n.name === ns);
  }

  private async record(name: string): Promise<VmRecord> {
    const text = await readNodeFile(this.host, this.recordPath(name));
    if (text === undefined) throw new VmNotFoundError(name);
    const rec = JSON.parse(text) as VmRecord;
    validateStoredVmSpec(rec.spec); // it is data read back from disk: check it again before it reaches a command
    return rec;
  }

  private async stopDhcpClient(name: string): Promise<void> {
    const pid = Number((await readNodeFile(this.host, this.dhcpPidPath(name)))?.trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    const cmdline = await readNodeFile(this.host, `/proc/${pid}/cmdline`);
    if (cmdline?.includes('udhcpc')) await this.host.run(['kill', String(pid)], { okCodes: [0, 1] });
    await removeNodeFiles(this.host, this.dhcpPidPath(name));
  }
}
