// North-south addressing: which address stands for a VM outside the overlay (on its gateway's kernel, before SNAT).
//
// A gateway's kernel routes and SNATs every VM's traffic to and from the outside world, in one address space. The
// default project's VMs appear there with their own addresses (the kernel holds their subnets' gateway IPs on br0, as
// before projects). Every other project may reuse those addresses, so each of its VMs gets a cloud-unique *transit
// address* (`network.transitRange`, default 100.64.0.0/16, allocated by the store like IPs): the gateway's OVS
// rewrites the VM's source to it on the way to the kernel and back on the way in (docs/architecture.md,
// "North-south for overlapping projects"). Whoever needs "the VM as the gateway's kernel sees it" (SNAT, a floating
// IP's DNAT target, flow cookies) asks `northSouthAddress`.

import { DEFAULT_PROJECT } from './projects.js';

/** The default `network.transitRange`: RFC 6598 shared address space, which no VM overlay and no LAN should use. */
export const DEFAULT_TRANSIT_RANGE = '100.64.0.0/16';

/** The address the gateway's kernel (and, after SNAT or DNAT, the outside world's view of it) knows the VM by. */
export function northSouthAddress(vm: { readonly ip: string; readonly transitIp?: string }): string {
  return vm.transitIp ?? vm.ip;
}

/** Whether a project's VMs get transit addresses: every project but the default one. */
export function projectUsesTransit(project: string): boolean {
  return project !== DEFAULT_PROJECT;
}
