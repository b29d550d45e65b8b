// What the one-controller lab (cloud.ts) and the HA lab (ha-cloud.ts) configure alike: the netns VM backend on the
// compute nodes (no VMs on the others), provisioning over the lab's underlay, and the request that adds a lab node.
import { join } from 'node:path';
import { EGRESS_DEVICE, UNDERLAY_DEVICE, UNDERLAY_PREFIX_LENGTH, type LabNodeDef } from './lab.js';

/** `vms`: netns VMs (namespaces `<prefix>v-<vm>`) on compute nodes; `none` on the others. */
export function labVmsConfig(prefix: string, dir: string, nodes: readonly LabNodeDef[]) {
  return {
    backend: 'netns' as const,
    nodes: Object.fromEntries(nodes.filter((n) => !n.roles.includes('compute')).map((n) => [n.name, 'none' as const])),
    labDir: join(dir, 'nodes'),
    stateDir: join(dir, 'vms'),
    netnsPrefix: `${prefix}v-`,
  };
}

/** `provisioning`: on, over the lab's underlay and egress devices, retried quickly. */
export function labProvisioningConfig() {
  return {
    enabled: true,
    underlay: { device: UNDERLAY_DEVICE, prefixLength: UNDERLAY_PREFIX_LENGTH },
    egressInterface: EGRESS_DEVICE,
    maxBackoffMs: 1000,
  };
}

/** POST /api/v1/nodes for a lab node; compute nodes offer `cpus` CPUs and 2 GiB per CPU. */
export function labNodeRequest(n: LabNodeDef, cpus = 16): Record<string, unknown> {
  return {
    name: n.name,
    roles: n.roles,
    underlayIp: n.underlayIp,
    ...(n.az !== undefined && { az: n.az }),
    ...(n.sshTarget !== undefined && { sshTarget: n.sshTarget }),
    ...(n.roles.includes('compute') && { cpus, memoryMiB: cpus * 2048 }),
  };
}
