// The `floatingIps` keys of the configuration (docs/configuration.md): each gateway's pool of outside addresses,
// schema and checks, kept apart from config.ts. The pools are checked whole at start (src/topology/floating-ips.ts):
// inside the gateway's outside network, never its own address, apart from the overlay and the transit range, no
// address in two pools.
import { Type, type Static } from 'typebox';
import { MAX_POOL_ENTRIES, poolProblems, type FloatingIpPool } from '../topology/floating-ips.js';

const IfName = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,15}$' });

export const FloatingIpsSchema = Type.Object(
  {
    pools: Type.Optional(
      Type.Array(
        Type.Object(
          {
            /** The gateway node (by name) whose outside link holds these addresses. */
            gateway: Type.String({ minLength: 1, maxLength: 63 }),
            /** The gateway's own address on its outside link with the link's prefix, e.g. 203.0.113.1/24. */
            outside: Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$' }),
            /** The interface holding them; default provisioning.egressInterface. */
            interface: Type.Optional(IfName),
            /** Addresses, ranges (a-b) and CIDRs. */
            addresses: Type.Array(Type.String({ minLength: 7, maxLength: 31 }), { minItems: 1, maxItems: MAX_POOL_ENTRIES }),
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_POOL_ENTRIES },
      ),
    ),
  },
  { additionalProperties: false },
);

/**
 * The pools, checked; problems are thrown as one message (the caller prefixes the source). A pool without an
 * interface takes `egressInterface`, and one of the two must be there: the addresses need a link to live on.
 */
export function floatingIpPools(f: Static<typeof FloatingIpsSchema> | undefined, overlay: string, egressInterface: string | undefined, transitRange?: string): FloatingIpPool[] {
  const pools: FloatingIpPool[] = (f?.pools ?? []).map((p) => ({
    gateway: p.gateway,
    outside: p.outside,
    ...((p.interface ?? egressInterface) !== undefined && { interface: p.interface ?? egressInterface }),
    addresses: p.addresses,
  }));
  const problems = poolProblems(pools, overlay, transitRange).map((p) => `floatingIps.${p}`);
  pools.forEach((p, i) => {
    if (p.interface === undefined) problems.push(`floatingIps.pools[${i}].interface: not set, and neither is provisioning.egressInterface (the link that holds the addresses)`);
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return pools;
}
