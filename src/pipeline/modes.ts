// The data-plane modes a cloud is compiled in (config `network.dhcp`, `network.broadcast`): plain types, so that
// stage.ts and the stages using them import them without a cycle.

/** Who answers a VM's DHCP: the controller itself (default), or the DHCP node's dnsmasq. */
export type DhcpMode = 'controller' | 'node';
export const DHCP_MODES: readonly DhcpMode[] = ['controller', 'node'];

/** Who replicates a subnet's broadcast to the other nodes: the sending node (default) or the switch node. */
export type BroadcastMode = 'head-end' | 'switch-node';
export const BROADCAST_MODES: readonly BroadcastMode[] = ['head-end', 'switch-node'];
