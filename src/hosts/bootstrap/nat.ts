// Gateway egress NAT. Our rules live in a chain of our own, jumped to from POSTROUTING: the chain's content is
// exactly what we want (never duplicated), and removal is "unhook, flush, delete" without touching other rules.
import type { Executor } from '../executor.js';
import type { GatewaySpec } from './spec.js';

export const NAT_CHAIN = 'MINICLOUD-SNAT';

const COMMENT = ['-m', 'comment', '--comment', 'minicloud-snat'];

/** iptables arguments (after -A/-C CHAIN) of the rule the seed used: SNAT the overlay's traffic leaving it. */
export function snatRule(g: GatewaySpec, source: string = g.overlayCidr): string[] {
  return [
    '-s', source,
    '!', '-d', source,
    ...(g.egressInterface ? ['-o', g.egressInterface] : []),
    ...COMMENT,
    ...(g.snatTo ? ['-j', 'SNAT', '--to-source', g.snatTo] : ['-j', 'MASQUERADE']),
  ];
}

function ipt(exec: Executor, args: readonly string[], okCodes: readonly number[] = [0]): Promise<{ code: number; stdout: string }> {
  // -w: wait for the xtables lock instead of failing when another iptables runs at the same moment.
  return exec.run(['iptables', '-w', '5', '-t', 'nat', ...args], { okCodes });
}

async function chainExists(exec: Executor): Promise<boolean> {
  return (await ipt(exec, ['-S', NAT_CHAIN], [0, 1])).code === 0;
}

async function hooked(exec: Executor): Promise<boolean> {
  return (await ipt(exec, ['-C', 'POSTROUTING', '-j', NAT_CHAIN], [0, 1, 2])).code === 0;
}

export async function ensureSnat(exec: Executor, g: GatewaySpec): Promise<string[]> {
  const changes: string[] = [];
  if (!(await chainExists(exec))) {
    await ipt(exec, ['-N', NAT_CHAIN]);
    changes.push(`iptables nat: chain ${NAT_CHAIN} created`);
  }
  if (!(await hooked(exec))) {
    await ipt(exec, ['-A', 'POSTROUTING', '-j', NAT_CHAIN]);
    changes.push(`iptables nat: POSTROUTING jumps to ${NAT_CHAIN}`);
  }
  // The overlay's rule, and the transit range's when other projects' VMs reach this kernel by transit addresses.
  const wanted = [snatRule(g), ...(g.transitCidr !== undefined ? [snatRule(g, g.transitCidr)] : [])];
  const rules = (await ipt(exec, ['-S', NAT_CHAIN])).stdout.split('\n').filter((l) => l.startsWith('-A '));
  let present = rules.length === wanted.length;
  for (const rule of wanted) if (present) present = (await ipt(exec, ['-C', NAT_CHAIN, ...rule], [0, 1])).code === 0;
  if (present) return changes;
  await ipt(exec, ['-F', NAT_CHAIN]);
  for (const rule of wanted) {
    await ipt(exec, ['-A', NAT_CHAIN, ...rule]);
    changes.push(`iptables nat: ${NAT_CHAIN} += ${rule.join(' ')}`);
  }
  return changes;
}

export async function removeSnat(exec: Executor): Promise<string[]> {
  const changes: string[] = [];
  while (await hooked(exec)) {
    await ipt(exec, ['-D', 'POSTROUTING', '-j', NAT_CHAIN]);
    changes.push(`iptables nat: POSTROUTING jump removed`);
  }
  if (await chainExists(exec)) {
    await ipt(exec, ['-F', NAT_CHAIN]);
    await ipt(exec, ['-X', NAT_CHAIN]);
    changes.push(`iptables nat: chain ${NAT_CHAIN} deleted`);
  }
  return changes;
}
