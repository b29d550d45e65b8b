// Files that configure a guest's network: busybox udhcpc's event script (used in LXD images and by netns VMs) and
// the minicloud network file our image's boot script reads.
import type { VmNetwork } from './driver.js';

/**
 * udhcpc calls this with $1 = deconfig | bound | renew | leasefail | nak and the lease in $interface, $ip, $mask,
 * $router, $dns, $mtu. Values come from the DHCP server; they are only ever passed as quoted arguments to `ip`.
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
# minicloud: apply a udhcpc lease (address, MTU, default route, DNS)
set -f
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    # DHCP option 26 (the overlay MTU), requested with -O mtu
    if [ -n "$mtu" ]; then ip link set "$interface" mtu "$mtu"; fi
    if [ -n "$router" ]; then
      ip route del default dev "$interface" 2>/dev/null
      for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    if [ -n "$dns" ]; then
      : > /etc/resolv.conf
      for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    fi
    ;;
esac
exit 0
`;

/** `key=value` lines our image's boot script reads (it never sources them). Values are validated addresses. */
export function networkFile(net: VmNetwork): string {
  if (net.mode === 'dhcp') return 'mode=dhcp\n';
  return [`mode=static`, `address=${net.address}`, `gateway=${net.gateway ?? ''}`, `dns=${(net.dns ?? []).join(' ')}`, ''].join('\n');
}

export function resolvConf(dns: readonly string[] | undefined): string {
  return (dns ?? []).map((d) => `nameserver ${d}\n`).join('');
}
