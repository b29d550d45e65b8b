// Placement: which compute node gets a VM. Pure: the store calls it inside the transaction that allocates the VM,
// with the loads read in that transaction.
import { formatMemory, type Flavor } from './flavors.js';
import { hasRole } from './model.js';
import type { NodeRecord, VmRecord } from './records.js';

export interface NodeLoad {
  readonly node: NodeRecord;
  readonly usedCpus: number;
  readonly usedMemoryMiB: number;
}

export interface PlacementRequest {
  readonly flavor: Flavor;
  /** Only nodes of this AZ (the caller asked for it). */
  readonly az?: string;
  /** Nodes of this AZ first if any fits (e.g. the gateway's AZ). */
  readonly preferAz?: string;
  /** Exactly this node (the caller asked for it). */
  readonly node?: string;
}

export type Placement = { readonly ok: true; readonly node: NodeRecord } | { readonly ok: false; readonly reason: string };

/** Every compute node with what its VMs (in any state: a stopped VM keeps its reservation) use. */
export function computeLoads(nodes: readonly NodeRecord[], vms: readonly VmRecord[]): NodeLoad[] {
  const used = new Map<string, { cpus: number; mem: number }>();
  for (const vm of vms) {
    const u = used.get(vm.node) ?? { cpus: 0, mem: 0 };
    u.cpus += vm.cpus;
    u.mem += vm.memoryMiB;
    used.set(vm.node, u);
  }
  return nodes
    .filter((n) => hasRole(n, 'compute'))
    .map((node) => ({ node, usedCpus: used.get(node.name)?.cpus ?? 0, usedMemoryMiB: used.get(node.name)?.mem ?? 0 }));
}

const freeCpus = (l: NodeLoad): number => l.node.cpus - l.usedCpus;
const freeMemory = (l: NodeLoad): number => l.node.memoryMiB - l.usedMemoryMiB;
const fits = (l: NodeLoad, f: Flavor): boolean => freeCpus(l) >= f.cpus && freeMemory(l) >= f.memoryMiB;
/** The larger of the CPU and memory shares in use once the VM is placed. */
const loadAfter = (l: NodeLoad, f: Flavor): number =>
  Math.max((l.usedCpus + f.cpus) / l.node.cpus, (l.usedMemoryMiB + f.memoryMiB) / l.node.memoryMiB);

/** The least loaded compute node that fits, preferring `preferAz`; or why there is none. */
export function placeVm(loads: readonly NodeLoad[], req: PlacementRequest): Placement {
  const want = `${plural(req.flavor.cpus, 'CPU')} and ${formatMemory(req.flavor.memoryMiB)} free`;
  if (req.node !== undefined) {
    const l = loads.find((x) => x.node.name === req.node);
    if (!l) return { ok: false, reason: `'${req.node}' is not a compute node` };
    if (req.az !== undefined && l.node.az !== req.az) return { ok: false, reason: `node '${req.node}' is in ${l.node.az ?? 'no AZ'}, not ${req.az}` };
    return fits(l, req.flavor) ? { ok: true, node: l.node } : { ok: false, reason: `node '${req.node}' does not have ${want}: it has ${describeFree(l)}` };
  }
  const eligible = req.az === undefined ? loads : loads.filter((l) => l.node.az === req.az);
  const where = req.az === undefined ? 'no compute node' : `no compute node in ${req.az}`;
  if (eligible.length === 0) {
    if (loads.length === 0) return { ok: false, reason: 'no compute node is registered' };
    const azs = [...new Set(loads.map((l) => l.node.az ?? 'no AZ'))].sort();
    return { ok: false, reason: `${where}: compute nodes are in ${azs.join(', ')}` };
  }
  const candidates = eligible.filter((l) => fits(l, req.flavor));
  if (candidates.length === 0) {
    const shown = eligible.slice(0, 5).map((l) => `${l.node.name} has ${describeFree(l)}`);
    if (eligible.length > shown.length) shown.push(`${eligible.length - shown.length} more`);
    return { ok: false, reason: `${where} has ${want}: ${shown.join(', ')}` };
  }
  const rank = (l: NodeLoad): [number, number, string] => [
    req.preferAz !== undefined && l.node.az === req.preferAz ? 0 : 1,
    loadAfter(l, req.flavor),
    l.node.name,
  ];
  const best = candidates
    .map((l) => ({ l, r: rank(l) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || (a.r[2] < b.r[2] ? -1 : a.r[2] > b.r[2] ? 1 : 0))[0]!;
  return { ok: true, node: best.l.node };
}

function describeFree(l: NodeLoad): string {
  return `${plural(freeCpus(l), 'CPU')} and ${formatMemory(freeMemory(l))} free`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
