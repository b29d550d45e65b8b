// Which of a switch's flows count packets dropped by security groups, per VM and why: the per-VM drop rows of the
// security-group stage (their cookie names the VM by its IPv4 address; table and priority say the reason). The
// metrics read these rows' packet counters (src/controller/network.ts, src/api/stats-poller.ts).
import { OURS, OURS_MASK, OWNER, STAGE, describeCookie } from './cookie.js';
import { PRIORITY, TABLE } from './tables.js';

export const SG_DROP_REASONS = ['spoofed_mac', 'spoofed_address', 'egress_denied', 'ingress_denied'] as const;
export type SgDropReason = (typeof SG_DROP_REASONS)[number];

/** Selects the security-group stage's per-VM flows: (cookie, mask) for a flow-stats request. */
export const VM_SG_COOKIE = OURS | (BigInt(OWNER.vm) << 44n) | (BigInt(STAGE.sg) << 40n);
export const VM_SG_COOKIE_MASK = OURS_MASK | (0xfn << 44n) | (0xfn << 40n);

const REASONS = new Map<string, SgDropReason>([
  [`${TABLE.CLASSIFY}/${PRIORITY[TABLE.CLASSIFY].SPOOFED_MAC}`, 'spoofed_mac'],
  [`${TABLE.PORT_SECURITY}/${PRIORITY[TABLE.PORT_SECURITY].SPOOFED}`, 'spoofed_address'],
  [`${TABLE.EGRESS_ACL}/${PRIORITY[TABLE.EGRESS_ACL].DENIED}`, 'egress_denied'],
  [`${TABLE.INGRESS_ACL}/${PRIORITY[TABLE.INGRESS_ACL].DENIED}`, 'ingress_denied'],
]);

export interface SgDrops {
  /** The VM's IPv4 address as a number (its cookie's id). */
  readonly vmIp: number;
  readonly reason: SgDropReason;
  readonly packets: number;
}

/** The drop counters among a switch's flows, summed per (VM, reason). */
export function sgDrops(flows: readonly { readonly tableId: number; readonly priority: number; readonly cookie: bigint; readonly packets: number }[]): SgDrops[] {
  const sums = new Map<string, SgDrops>();
  for (const f of flows) {
    const reason = REASONS.get(`${f.tableId}/${f.priority}`);
    if (!reason) continue;
    const c = describeCookie(f.cookie);
    if (c?.owner !== 'vm' || c.stage !== 'sg') continue;
    const key = `${c.id}/${reason}`;
    const was = sums.get(key);
    sums.set(key, { vmIp: c.id, reason, packets: (was?.packets ?? 0) + f.packets });
  }
  return [...sums.values()];
}
