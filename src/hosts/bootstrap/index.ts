// Node bootstrap per role, idempotent: every step reads the node's state and changes only what differs, so a
// second run reports no changes. Removal undoes what bootstrap added and nothing else.
import type { Executor } from '../executor.js';
import { removeNodeFiles } from '../files.js';
import { ensureDhcpServer, removeDhcpServer } from './dhcp.js';
import { ensureFloatingIps, removeFloatingIps } from './floating-ips.js';
import { ensureAddresses, ensureForwarding, ensureNoRedirects, ensureRoutes, removeRoutes, restoreForwarding, restoreRedirects } from './ip.js';
import { ensureSnat, removeSnat } from './nat.js';
import { ensureOvs, removeOvs } from './ovs.js';
import { removeSsl } from './ssl.js';
import { bridgeOf, DEFAULT_UNDERLAY_BRIDGE, hasRole, stateDirOf, validateNodeSpec, type NodeBootstrapSpec } from './spec.js';

export interface BootstrapReport {
  readonly node: string;
  /** Human-readable changes made; empty when the node already matched the spec. */
  readonly changes: readonly string[];
}

/** The addresses br0 holds: gateway IPs (gateway role) and DHCP server IPs (dhcp role). */
function bridgeAddresses(spec: NodeBootstrapSpec): string[] {
  const addrs = new Set<string>();
  if (hasRole(spec, 'gateway')) spec.gateway?.addresses.forEach((a) => addrs.add(a));
  if (hasRole(spec, 'dhcp')) spec.dhcp?.addresses.forEach((a) => addrs.add(a));
  return [...addrs];
}

export async function bootstrapNode(exec: Executor, spec: NodeBootstrapSpec): Promise<BootstrapReport> {
  validateNodeSpec(spec);
  const bridge = bridgeOf(spec);
  const changes: string[] = [];
  changes.push(...(await ensureOvs(exec, spec)));
  if (spec.underlay) changes.push(...(await ensureAddresses(exec, spec.underlay.bridge ?? DEFAULT_UNDERLAY_BRIDGE, [spec.underlay.address])));
  // A gateway's br0 is up even without addresses: it carries the overlay route.
  changes.push(...(await ensureAddresses(exec, bridge, bridgeAddresses(spec), { up: hasRole(spec, 'gateway') })));
  if (hasRole(spec, 'gateway') && spec.gateway) {
    const g = spec.gateway;
    changes.push(...(await ensureForwarding(exec, stateDirOf(spec))));
    changes.push(...(await ensureNoRedirects(exec, stateDirOf(spec), bridge)));
    changes.push(...(await ensureSnat(exec, g)));
    changes.push(...(await ensureFloatingIps(exec, g, bridge)));
    changes.push(...(await ensureRoutes(exec, g.routes ?? [{ to: g.overlayCidr, dev: bridge }, ...(g.transitCidr !== undefined ? [{ to: g.transitCidr, dev: bridge }] : [])])));
  } else {
    changes.push(
      ...(await removeFloatingIps(exec)),
      ...(await removeSnat(exec)),
      ...(await removeRoutes(exec)),
      ...(await restoreForwarding(exec, stateDirOf(spec))),
      ...(await restoreRedirects(exec, stateDirOf(spec))),
    );
  }
  if (hasRole(spec, 'dhcp')) changes.push(...(await ensureDhcpServer(exec, spec)));
  else changes.push(...(await removeDhcpServer(exec, spec)));
  return { node: spec.name, changes };
}

export async function removeNode(exec: Executor, spec: NodeBootstrapSpec): Promise<BootstrapReport> {
  validateNodeSpec(spec);
  const changes: string[] = [
    ...(await removeDhcpServer(exec, spec)),
    ...(await removeFloatingIps(exec, spec.gateway?.floatingIps)),
    ...(await removeSnat(exec)),
    ...(await removeRoutes(exec)),
    ...(await restoreForwarding(exec, stateDirOf(spec))),
    ...(await restoreRedirects(exec, stateDirOf(spec))),
    ...(await removeOvs(exec, spec)),
    ...(await removeSsl(exec, spec)),
  ];
  await removeNodeFiles(exec, `${stateDirOf(spec)}/ip_forward.orig`);
  await exec.run(['rmdir', '--', stateDirOf(spec)], { okCodes: [0, 1] });
  return { node: spec.name, changes };
}

export { syncDhcpReservations } from './dhcp.js';

/** Only the floating IPs of a gateway whose spec did not otherwise change (the provisioner's fast path). */
export async function syncFloatingIps(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  validateNodeSpec(spec);
  return spec.gateway ? ensureFloatingIps(exec, spec.gateway, bridgeOf(spec)) : removeFloatingIps(exec);
}
export * from './spec.js';
