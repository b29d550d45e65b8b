// The VM backend: CloudService's VmBackend over the src/hosts drivers, one driver per node, chosen per node by the
// configuration (`vms.backend`, overridden per node by `vms.nodes`): `netns` (a VM is a network namespace with a veth
// on br0; the lab and the demo), `lxd` (containers), or `none` (the node's VMs are managed elsewhere: the controller
// only programs their flows, and the VM's port must appear on br0 by its name).
//
// Where a node's commands run: see node-executors.ts.
import { join } from 'node:path';
import { ExecOutputLimitError, ImageNotFoundError, LxdVmDriver, NetnsVmDriver, VmExistsError, type Logger, type VmDriver, type VmSpec as DriverSpec } from '../hosts/index.js';
import { IMAGE_ALIAS, matchesRule } from '../topology/names.js';
import type { NodeRecord } from '../topology/records.js';
import type { BackendKind, Config } from './config.js';
import { Conflict, Invalid, type VmExecResult, type VmBackend, type VmSpec } from '../cloud/index.js';
import type { NodeExecutors } from './node-executors.js';

export interface NodeBackendsOptions {
  readonly vms: Config['vms'];
  readonly logger?: Logger;
  /** Where each node's commands run: shared with node provisioning, closed by its owner. */
  readonly executors: NodeExecutors;
  /** Resolves when the node is ready for VMs (provisioned: br0 exists); create waits for it. */
  readonly nodeReady?: (node: NodeRecord) => Promise<void>;
  /**
   * A removed node's executor is released here (its SSH connection closed). Off when provisioning runs: it still
   * needs the connection to undo the node's bootstrap, and releases it after.
   */
  readonly releaseRemovedNodes: boolean;
  /** The overlay MTU every new VM's interface gets (undefined: the backend's default, 1500). */
  readonly overlayMtu?: () => number;
}

/** Maps CloudService's VmSpec (its allocation) to a driver's spec: our MAC, our port name, static addressing. */
export function driverSpec(spec: VmSpec, mtu?: number): DriverSpec {
  return {
    name: spec.name,
    ...(spec.hostname !== spec.name && { hostname: spec.hostname }),
    mac: spec.mac,
    port: spec.port,
    ...(mtu !== undefined && { mtu }),
    network: { mode: 'static', address: `${spec.ip}/${spec.prefixLength}`, gateway: spec.gatewayIp },
    flavor: { cpus: spec.cpus, memoryMiB: spec.memoryMiB },
    // A plain alias names a local image; a remote reference ('images:debian/12') can't be fetched here, so the
    // driver's configured image is used instead.
    ...(matchesRule(IMAGE_ALIAS, spec.image) && { image: spec.image }),
  };
}

const ANY_EXIT_CODE = Array.from({ length: 256 }, (_, i) => i);

export class NodeBackends implements VmBackend {
  private readonly drivers = new Map<string, VmDriver | null>();

  constructor(private readonly opts: NodeBackendsOptions) {}

  /** Drops the node's cached driver (a node added again under the same name may be reached differently). */
  nodeRemoved(name: string): void {
    this.drivers.delete(name);
    if (this.opts.releaseRemovedNodes) void this.opts.executors.release(name);
  }

  kindFor(node: string): BackendKind {
    return this.opts.vms.nodes[node] ?? this.opts.vms.backend;
  }

  async create(spec: VmSpec): Promise<void> {
    const d = this.driver(spec.node);
    if (!d) return;
    await this.opts.nodeReady?.(spec.node);
    try {
      await d.create(driverSpec(spec, this.opts.overlayMtu?.()));
    } catch (e) {
      // The caller named an image this node does not have: the request's fault, not the backend's.
      if (e instanceof ImageNotFoundError) {
        const available = e.available.join(', ') || 'none';
        throw new Invalid('image', `no LXD image '${e.image}' on node '${spec.node.name}' (${e.node}; its images: ${available})`);
      }
      // Not one of ours (the store has one VM per name): the create made nothing, and the rollback must not delete it.
      if (e instanceof VmExistsError) throw new Conflict('name', `node '${spec.node.name}' already has a VM named '${spec.name}' that the store has no record of (a leftover, or not ours): remove it there or choose another name`);
      throw e;
    }
  }

  async start(spec: VmSpec): Promise<void> {
    await this.driver(spec.node)?.start(spec.name);
  }

  async stop(spec: VmSpec): Promise<void> {
    await this.driver(spec.node)?.stop(spec.name);
  }

  async delete(spec: VmSpec): Promise<void> {
    await this.driver(spec.node)?.delete(spec.name);
  }

  async exec(spec: VmSpec, argv: readonly string[]): Promise<VmExecResult> {
    const d = this.driver(spec.node);
    if (!d) throw new Error(`node '${spec.node.name}' has no VM backend (vms.backend none): its VMs are managed elsewhere`);
    const limit = this.opts.vms.execMaxOutputBytes;
    try {
      const r = await d.exec(spec.name, argv, { okCodes: ANY_EXIT_CODE, ...(limit !== undefined && { maxOutputBytes: limit }) });
      return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      // The caller's command printed too much: the request's fault, and the answer stays small.
      if (e instanceof ExecOutputLimitError) {
        throw new Invalid('command', `it printed more than ${e.limitBytes} bytes on ${e.stream} (vms.execMaxOutputBytes) and was killed; print less, e.g. through '| head -c N'`);
      }
      throw e;
    }
  }

  private driver(node: NodeRecord): VmDriver | undefined {
    const cached = this.drivers.get(node.name);
    if (cached !== undefined) return cached ?? undefined;
    const kind = this.kindFor(node.name);
    let d: VmDriver | null = null;
    const logger = this.opts.logger;
    if (kind === 'netns') {
      const { exec, netns } = this.opts.executors.for(node);
      d = new NetnsVmDriver({
        node: exec,
        host: netns !== undefined ? this.opts.executors.local : exec,
        ...(netns !== undefined && { nodeNetns: netns }),
        stateDir: join(this.opts.vms.stateDir, node.name),
        netnsPrefix: this.opts.vms.netnsPrefix,
        ...(logger && { logger }),
      });
    } else if (kind === 'lxd') {
      d = new LxdVmDriver({ node: this.opts.executors.for(node).exec, image: this.opts.vms.lxdImage, ...(logger && { logger }) });
    }
    this.drivers.set(node.name, d);
    return d ?? undefined;
  }
}
