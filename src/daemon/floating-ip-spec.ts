// A gateway's floating IPs as its bootstrap spec states them (src/hosts/bootstrap/floating-ips.ts): the pool's link
// and ranges, and each floating IP attached to a VM that is not being deleted, translated to the VM's north-south
// address. A pure function of the records and the configured pools.
import type { FloatingIpsSpec } from '../hosts/index.js';
import { outsideOf, poolRanges, type FloatingIpPool } from '../topology/floating-ips.js';
import { numberToIpv4 } from '../topology/model.js';
import { northSouthAddress } from '../topology/north-south.js';
import type { CloudRecords } from '../topology/records.js';

/** `{ floatingIps }` for the gateway's spec, or nothing when it has no pool with an interface. */
export function floatingIpsSpecFor(gateway: string, records: CloudRecords, pools: readonly FloatingIpPool[]): { floatingIps?: FloatingIpsSpec } {
  const pool = pools.find((p) => p.gateway === gateway);
  if (pool?.interface === undefined) return {};
  const vms = new Map(records.vms.map((v) => [v.name, v] as const));
  const attached: { address: string; target: string }[] = [];
  for (const f of records.floatingIps ?? []) {
    if (f.gateway !== gateway || f.vm === undefined) continue;
    const vm = vms.get(f.vm);
    if (vm === undefined || vm.state === 'deleting') continue;
    attached.push({ address: f.address, target: northSouthAddress(vm) });
  }
  const ranges = poolRanges(pool).map((r) => `${numberToIpv4(r.first)}-${numberToIpv4(r.last)}`);
  // A VM without a floating IP reaching one here (hairpin) comes from the gateway's outside address, as outside.
  const hairpinSource = numberToIpv4(outsideOf(pool).own);
  return { floatingIps: { interface: pool.interface, pool: ranges, attached, hairpinSource } };
}
