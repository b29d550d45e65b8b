// The VM backend interface (LXD containers, or bare network namespaces for the lab and the demo) and what both
// drivers share: the spec, its validation, port naming, errors.
import { createHash } from 'node:crypto';
import type { ExecOptions, ExecResult } from '../executor.js';
import {
  assertIfAddress,
  assertIfName,
  assertImageAlias,
  assertIpv4,
  assertMac,
  assertPositiveInt,
  assertVmInstance,
  assertVmInstanceName,
  assertVmName,
  assertVmRef,
  cidrContains,
  parseCidr,
  ValidationError,
} from '../validate.js';

export interface Flavor {
  readonly cpus: number;
  readonly memoryMiB: number;
}

export type VmNetwork =
  | { readonly mode: 'dhcp' }
  | {
      readonly mode: 'static';
      /** Address with prefix, e.g. '192.168.20.10/27'. */
      readonly address: string;
      readonly gateway?: string;
      readonly dns?: readonly string[];
    };

export interface VmSpec {
  /** Its instance name on the node (the LXD container, the namespace's suffix, file names): names.ts VM_INSTANCE. */
  readonly name: string;
  /** The hostname the guest has and sends to DHCP (option 12): its VM name, which `name` qualifies. Default `name`. */
  readonly hostname?: string;
  /** The MAC we allocated; the driver makes the VM use it and verifies it did. */
  readonly mac: string;
  readonly network: VmNetwork;
  /** LXD only (the netns driver has no resource limits). */
  readonly flavor?: Flavor;
  /** LXD only: image alias (default: the driver's). */
  readonly image?: string;
  /** The VM's interface on br0 (host side). Default portNameFor(name). */
  readonly port?: string;
  /** The VM's interface MTU (the overlay MTU). Default: the backend's (1500). */
  readonly mtu?: number;
}

export type VmState = 'running' | 'stopped';

export interface VmInfo {
  readonly name: string;
  readonly state: VmState;
  readonly mac: string;
  /** The interface name on br0: the controller learns its OpenFlow port number from the switch by this name. */
  readonly port: string;
  /** IPv4 addresses inside the VM (with prefix), when it runs. */
  readonly addresses: readonly string[];
}

export interface VmDriver {
  readonly kind: 'lxd' | 'netns';
  /** Creates and starts the VM. A failure part-way removes everything created so far, then rethrows. */
  create(spec: VmSpec): Promise<VmInfo>;
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  /** Removes the VM and everything that belongs to it; a VM that does not exist is not an error. */
  delete(name: string): Promise<void>;
  /** Runs an argument vector inside the VM. */
  exec(name: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** undefined when there is no such VM. */
  info(name: string): Promise<VmInfo | undefined>;
}

export class VmExistsError extends Error {
  override readonly name = 'VmExistsError';
  constructor(readonly vm: string) {
    super(`VM ${vm} already exists`);
  }
}

export class VmNotFoundError extends Error {
  override readonly name = 'VmNotFoundError';
  constructor(readonly vm: string) {
    super(`no VM ${vm}`);
  }
}

/** The seed's bug: a container whose MAC is not the one allocated. Ours checks and refuses. */
export class MacMismatchError extends Error {
  override readonly name = 'MacMismatchError';
  constructor(
    readonly vm: string,
    readonly where: string,
    readonly expected: string,
    readonly actual: string | undefined,
  ) {
    super(`VM ${vm}: MAC on ${where} is ${actual ?? 'missing'}, expected ${expected}`);
  }
}

/**
 * The host-side interface name of a VM: 'vm-NAME' when that fits IFNAMSIZ, else 'vm-' and a hash of the name, so it
 * is always derivable from the name alone (delete needs no stored state to find a leaked port).
 */
export function portNameFor(vmName: string): string {
  const plain = `vm-${vmName}`;
  return plain.length <= 15 ? plain : `vm-${createHash('sha256').update(vmName).digest('hex').slice(0, 12)}`;
}

/** Checks a spec for a new VM: its instance name and hostname must pass the rules of src/topology/names.ts. */
export function validateVmSpec(spec: VmSpec): void {
  assertVmInstanceName('VM instance name', spec.name);
  if (spec.hostname !== undefined) assertVmName('VM hostname', spec.hostname);
  validateSpecFields(spec);
}

/** Checks a spec read back from a node: a VM made under the older, wider name rule stays manageable. */
export function validateStoredVmSpec(spec: VmSpec): void {
  assertVmInstance('VM instance name', spec.name);
  if (spec.hostname !== undefined) assertVmRef('VM hostname', spec.hostname);
  validateSpecFields(spec);
}

function validateSpecFields(spec: VmSpec): void {
  assertMac('mac', spec.mac);
  if (spec.image !== undefined) assertImageAlias('image', spec.image);
  if (spec.port !== undefined) assertIfName('port', spec.port);
  if (spec.mtu !== undefined) assertPositiveInt('mtu', spec.mtu, 65535);
  if (spec.mtu !== undefined && spec.mtu < 68) throw new ValidationError('mtu', spec.mtu, 'at least 68 (RFC 791)');
  if (spec.flavor) {
    assertPositiveInt('flavor.cpus', spec.flavor.cpus, 1024);
    assertPositiveInt('flavor.memoryMiB', spec.flavor.memoryMiB, 16 * 1024 * 1024);
  }
  const net = spec.network as VmNetwork | undefined;
  if (net?.mode === 'static') {
    assertIfAddress('network.address', net.address);
    if (net.gateway !== undefined) {
      assertIpv4('network.gateway', net.gateway);
      const c = parseCidr('network.address', net.address);
      if (!cidrContains(`${c.network}/${c.prefix}`, net.gateway)) throw new ValidationError('network.gateway', net.gateway, `not inside ${net.address}`);
    }
    (net.dns ?? []).forEach((d) => assertIpv4('network.dns', d));
  } else if (net?.mode !== 'dhcp') throw new ValidationError('network.mode', (net as { mode?: unknown } | undefined)?.mode, "'dhcp' or 'static'");
}

/**
 * Runs `steps`; when one throws, runs `undo` (which must tolerate a half-made VM) and rethrows the first error.
 * The undo error, if any, is attached as `cause` of a combined error so nothing is lost.
 */
export async function withRollback<T>(steps: () => Promise<T>, undo: () => Promise<void>): Promise<T> {
  try {
    return await steps();
  } catch (e) {
    try {
      await undo();
    } catch (undoError) {
      throw new Error(`${(e as Error).message} (and the rollback failed: ${(undoError as Error).message})`, { cause: e });
    }
    throw e;
  }
}
