// The `lxd` backend: a VM is an LXD container from our local image, its NIC bridged onto br0 with the MAC we
// allocated and a host-side name we chose. The seed's bug (a container whose MAC differs from
// volatile.eth0.hwaddr) is checked after every start: LXD's record, the container's eth0 and the OVS port must agree.
import { BRIDGE } from '../../topology/model.js';
import type { ExecOptions, ExecResult, Executor } from '../executor.js';
import { bridgeOfPort, datapathTypeOf, findRows, mapArgs, stringMap, vsctl } from '../ovsdb.js';
import { silentLogger, type Logger } from '../types.js';
import { assertPath, assertVmInstance } from '../validate.js';
import { DEFAULT_IMAGE, imageExists, listAliases } from '../lxd/image.js';
import {
  MacMismatchError,
  portNameFor,
  validateVmSpec,
  VmExistsError,
  VmNotFoundError,
  withRollback,
  type VmDriver,
  type VmInfo,
  type VmSpec,
} from './driver.js';
import { networkFile } from './guest-files.js';

/** The image a VM asks for is not among the node's local LXD images (no image server is reachable to fetch it). */
export class ImageNotFoundError extends Error {
  override readonly name = 'ImageNotFoundError';
  constructor(
    readonly image: string,
    readonly node: string,
    readonly available: readonly string[],
  ) {
    super(`no LXD image '${image}' on ${node} (its images: ${available.join(', ') || 'none'})`);
  }
}

export interface LxdVmDriverOptions {
  /** Runs `lxc`, `ovs-vsctl`, `nsenter` and `ethtool` on the node (a lab node's executor carries LXD_DIR). */
  readonly node: Executor;
  readonly bridge?: string;
  /** Default image alias (a spec may name another). */
  readonly image?: string;
  /** Seconds a clean shutdown may take before the container is killed. Default 10. */
  readonly stopTimeoutS?: number;
  readonly logger?: Logger;
}

interface LxdInstance {
  readonly status: string;
  readonly config: Record<string, string>;
  readonly expanded_devices?: Record<string, Record<string, string>>;
  readonly devices: Record<string, Record<string, string>>;
}

interface LxdState {
  readonly status: string;
  readonly pid: number;
  readonly network?: Record<string, { hwaddr: string; host_name: string; addresses: { family: string; address: string; netmask: string }[] }>;
}

export class LxdVmDriver implements VmDriver {
  readonly kind = 'lxd' as const;
  private readonly node: Executor;
  private readonly bridge: string;
  private readonly logger: Logger;

  constructor(private readonly options: LxdVmDriverOptions) {
    this.node = options.node;
    this.bridge = options.bridge ?? BRIDGE;
    this.logger = options.logger ?? silentLogger;
  }

  async create(spec: VmSpec): Promise<VmInfo> {
    validateVmSpec(spec);
    const { name } = spec;
    if (await this.instance(name)) throw new VmExistsError(name);
    const mac = spec.mac.toLowerCase();
    const port = spec.port ?? portNameFor(name);
    const image = spec.image ?? this.options.image ?? DEFAULT_IMAGE;
    await this.requireImage(image);
    this.logger.info({ vm: name, port, mac, image, flavor: spec.flavor, backend: this.kind }, 'creating VM');
    return withRollback(
      async () => {
        const limits = spec.flavor ? ['-c', `limits.cpu=${spec.flavor.cpus}`, '-c', `limits.memory=${spec.flavor.memoryMiB}MiB`] : [];
        await this.lxc(['init', image, name, ...limits], { timeoutMs: 120_000 });
        // mtu: LXD sets it on both ends of the veth (the container's eth0 and the br0 port).
        await this.lxc([
          'config', 'device', 'add', name, 'eth0', 'nic', 'nictype=bridged', `parent=${this.bridge}`, `hwaddr=${mac}`, `host_name=${port}`, 'name=eth0',
          ...(spec.mtu !== undefined ? [`mtu=${spec.mtu}`] : []),
        ]);
        // LXD records volatile.eth0.hwaddr only for MACs it generates; tools (the seed's among them) read that key,
        // so it gets our MAC too, and afterStart checks that every place agrees.
        await this.lxc(['config', 'set', name, 'volatile.eth0.hwaddr', mac]);
        await this.pushFile(name, '/etc/minicloud/network', networkFile(spec.network));
        // The container is named for the node (PROJECT--NAME); its guest is named for its user.
        if (spec.hostname !== undefined && spec.hostname !== name) await this.pushFile(name, '/etc/hostname', `${spec.hostname}\n`);
        await this.start(name);
        return (await this.info(name))!;
      },
      () => this.remove(name, port),
    );
  }

  async start(name: string): Promise<void> {
    const inst = await this.require(name);
    if (inst.status !== 'Running') await this.lxc(['start', name], { timeoutMs: 120_000 });
    await this.afterStart(name);
    this.logger.info({ vm: name, backend: this.kind }, 'VM started');
  }

  async stop(name: string): Promise<void> {
    const inst = await this.require(name);
    if (inst.status === 'Stopped') return;
    const timeout = this.options.stopTimeoutS ?? 10;
    try {
      await this.lxc(['stop', name, `--timeout=${timeout}`], { timeoutMs: (timeout + 10) * 1000 });
    } catch (e) {
      this.logger.warn({ vm: name, err: (e as Error).message }, 'clean stop failed; forcing');
      await this.lxc(['stop', name, '--force']);
    }
    this.logger.info({ vm: name, backend: this.kind }, 'VM stopped');
  }

  delete(name: string): Promise<void> {
    return this.remove(name);
  }

  private async remove(name: string, knownPort?: string): Promise<void> {
    const inst = await this.instance(name);
    const port = knownPort ?? inst?.devices['eth0']?.['host_name'] ?? portNameFor(name);
    if (inst) await this.lxc(['delete', name, '--force'], { timeoutMs: 120_000 });
    // LXD removes the port on stop and delete, but a start that failed half-way leaves the veth (seen) and the port.
    await vsctl(this.node, ['--if-exists', 'del-port', this.bridge, port]);
    await this.node.run(['ip', 'link', 'del', port], { okCodes: [0, 1] });
    this.logger.info({ vm: name, backend: this.kind }, 'VM deleted');
  }

  async exec(name: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    await this.require(name);
    return this.lxc(['exec', name, '--', ...argv], opts);
  }

  async info(name: string): Promise<VmInfo | undefined> {
    const inst = await this.instance(name);
    if (!inst) return undefined;
    const state = inst.status === 'Running' ? await this.state(name) : undefined;
    const eth0 = state?.network?.['eth0'];
    return {
      name,
      state: inst.status === 'Running' ? 'running' : 'stopped',
      mac: inst.config['volatile.eth0.hwaddr'] ?? inst.devices['eth0']?.['hwaddr'] ?? '',
      port: inst.devices['eth0']?.['host_name'] ?? portNameFor(name),
      addresses: (eth0?.addresses ?? []).filter((a) => a.family === 'inet').map((a) => `${a.address}/${a.netmask}`),
    };
  }

  /** After each start: tx offload on netdev bridges, our marks on the OVS port, and the MAC checked everywhere. */
  private async afterStart(name: string): Promise<void> {
    const inst = await this.require(name);
    const state = await this.state(name);
    const mac = inst.devices['eth0']?.['hwaddr']?.toLowerCase() ?? '';
    const port = inst.devices['eth0']?.['host_name'] ?? portNameFor(name);
    if ((await datapathTypeOf(this.node, this.bridge)) === 'netdev') {
      // lab.md: over a userspace bridge, TCP/UDP (so DHCP) arrive with bad checksums unless TX offload is off.
      await this.node.run(['nsenter', '-t', String(state.pid), '-n', 'ethtool', '-K', 'eth0', 'tx', 'off']);
      await this.node.run(['ethtool', '-K', port, 'tx', 'off']);
    }
    await vsctl(this.node, ['set', 'interface', port, ...mapArgs('external_ids', { 'vm-name': name, 'attached-mac': mac })]);
    const volatile = inst.config['volatile.eth0.hwaddr']?.toLowerCase();
    if (volatile !== mac) throw new MacMismatchError(name, 'volatile.eth0.hwaddr', mac, volatile);
    const inside = state.network?.['eth0']?.hwaddr.toLowerCase();
    if (inside !== mac) throw new MacMismatchError(name, "the container's eth0", mac, inside);
    if ((await bridgeOfPort(this.node, port)) !== this.bridge) throw new Error(`VM ${name}: port ${port} is not on ${this.bridge}`);
    const [row] = await findRows(this.node, 'Interface', ['external_ids'], `name=${port}`);
    const attached = stringMap(row?.['external_ids'])['attached-mac'];
    if (attached !== mac) throw new MacMismatchError(name, `OVS port ${port}`, mac, attached);
  }

  /**
   * Writes a file into the (stopped) guest, owned by the guest's root. `lxc file push` wants a real file: stdin
   * from an executor may be a socket, which it cannot open. The directory must exist in the image.
   */
  private async pushFile(name: string, path: string, content: string): Promise<void> {
    const tmp = assertPath('temporary file', (await this.node.run(['mktemp', '/tmp/minicloud-push.XXXXXX'])).stdout.trim());
    try {
      await this.node.run(['tee', '--', tmp], { input: content });
      await this.lxc(['file', 'push', tmp, `${name}${path}`, '--uid', '0', '--gid', '0', '--mode', '0644']);
    } finally {
      await this.node.run(['rm', '-f', '--', tmp]);
    }
  }

  /** No image server is reachable: an alias the node's LXD lacks can only fail, so say which ones it has. */
  private async requireImage(image: string): Promise<void> {
    if (await imageExists(this.node, image)) return;
    const known = await listAliases(this.node).catch(() => [] as string[]);
    throw new ImageNotFoundError(image, this.node.target, known);
  }

  private lxc(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.node.run(['lxc', ...args], opts);
  }

  private async query<T>(path: string): Promise<T | undefined> {
    const r = await this.lxc(['query', path], { okCodes: [0, 1] });
    if (r.code === 0) return JSON.parse(r.stdout) as T;
    if (/not found/i.test(r.stderr)) return undefined;
    throw new Error(`[${this.node.target}] lxc query ${path} failed: ${r.stderr.trim()}`);
  }

  private instance(name: string): Promise<LxdInstance | undefined> {
    return this.query<LxdInstance>(`/1.0/instances/${assertVmInstance('VM instance name', name)}`);
  }

  private async require(name: string): Promise<LxdInstance> {
    const inst = await this.instance(name);
    if (!inst) throw new VmNotFoundError(name);
    return inst;
  }

  private async state(name: string): Promise<LxdState> {
    const s = await this.query<LxdState>(`/1.0/instances/${assertVmInstance('VM instance name', name)}/state`);
    if (!s) throw new VmNotFoundError(name);
    return s;
  }
}
