// The address a gateway's kernel knows a VM by, for traffic between it and the outside (a floating IP's DNAT target
// and SNAT match). Today the VM's own IP; with overlapping projects it becomes the VM's transit address. Every
// north-south use goes through this one function.
import type { VmRecord } from './records.js';

export function northSouthAddress(vm: Pick<VmRecord, 'ip'>): string {
  return vm.ip;
}
