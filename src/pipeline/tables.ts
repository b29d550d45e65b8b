// The pipeline, declared once (as Faucet's faucet_pipeline.py and OVN's northd.h do): table ids, names, purpose,
// the tables each may go to, what a miss does, the named priorities of its rows, and the fields used to carry
// state between tables. Stages build flows only through `flow()` (flow.ts), which checks them against this file.
//
// Table numbers are the seed's (0, 10, 50, 60) so its documentation and debugging habits still apply; later tables
// take the free ids between them, so a packet always goes to a higher id (1-3 after 0, 30-32 after 10).

export interface TableDecl {
  readonly id: number;
  readonly name: string;
  readonly purpose: string;
  /** Tables a goto_table from this one may name (always forward). */
  readonly next: readonly number[];
  /** What a packet that matches no row gets. Every table has an explicit priority-0 row doing this. */
  readonly miss: string;
}

export const TABLE = {
  CLASSIFY: 0,
  PORT_SECURITY: 1,
  EGRESS_ACL: 2,
  EGRESS_OUT: 3,
  UNICAST: 10,
  TUNNEL_OUT: 20,
  INGRESS_CT: 30,
  INGRESS_ACL: 31,
  DELIVER: 32,
  BROADCAST: 50,
  FLOOD: 60,
} as const;

export type TableId = (typeof TABLE)[keyof typeof TABLE];

export const TABLES: readonly TableDecl[] = [
  {
    id: TABLE.CLASSIFY,
    name: 'classify',
    purpose:
      'Admit packets by input port. A VM port admits only its VM\'s MAC (anti-spoofing) and tags the packet with its subnet\'s VNI in tun_id ' +
      'and its routing domain in reg2; a tunnel port admits the VNIs the node serves, loading each one\'s domain into reg2; LOCAL (a gateway\'s or ' +
      'DHCP node\'s kernel) loads the default domain, and on a gateway a packet to a transit address is rewritten to its VM (address and domain). Unicast goes to 10, broadcast/multicast to 50 (60 on the switch node). ' +
      'With security groups, a VM\'s frames instead go to 1 with reg1 = its port, and a frame from another MAC is dropped by a row of its own (counted per VM).',
    next: [TABLE.PORT_SECURITY, TABLE.UNICAST, TABLE.BROADCAST, TABLE.FLOOD],
    miss: 'drop (unknown port, or a VM sending from a MAC that is not its own)',
  },
  {
    id: TABLE.PORT_SECURITY,
    name: 'port_security',
    purpose:
      'A VM\'s frames (security groups only): IPv4 only from its own address, ARP only with its own arp_spa/arp_sha (or 0.0.0.0, RFC 5227 probes); ' +
      'anything else IPv4 or ARP is dropped by a per-VM row whose counters are the VM\'s spoof drops. DHCP client traffic (udp 68->67) passes ' +
      'unfiltered; IPv6 is dropped (the overlay is IPv4 only). Own IPv4 (broadcast too) goes to conntrack in the VM\'s zone (reg1) and on ' +
      'to 2; ARP, DHCP and other ethertypes go to 3.',
    next: [TABLE.EGRESS_ACL, TABLE.EGRESS_OUT],
    miss: 'drop (never reached: the priority-1 row sends other ethertypes to 3)',
  },
  {
    id: TABLE.EGRESS_ACL,
    name: 'egress_acl',
    purpose:
      'Egress security-group rules of the sending VM (reg1), after conntrack in its zone: replies and related packets of a connection pass; ' +
      'invalid ones are dropped; every other packet (a new connection, or more of one this VM opened) must match an egress rule of one of ' +
      'its groups, and is committed. Remote groups with several ports use conjunctive matches. A packet no rule allows is dropped by the ' +
      'VM\'s own row (counted).',
    next: [TABLE.EGRESS_OUT],
    miss: 'drop',
  },
  {
    id: TABLE.EGRESS_OUT,
    name: 'egress_out',
    purpose: 'A VM\'s frame that passed 1-2: broadcast/multicast to 50, unicast to 10 (what table 0 does for other ports).',
    next: [TABLE.UNICAST, TABLE.BROADCAST],
    miss: 'drop',
  },
  {
    id: TABLE.UNICAST,
    name: 'unicast',
    purpose:
      'L2 delivery by (tun_id, eth_dst) to a local port or through vxlan-int to the VM\'s host; distributed routing between subnets by ipv4_dst ' +
      '(rewrite MACs, tun_id of the destination subnet); VM egress to its own gateway; on gateways, tunnel traffic for the gateway MAC to LOCAL. ' +
      'A non-default domain\'s gateway IPs answer ICMP echo here (back out of in_port), and its subnets\' addresses no VM holds are dropped. ' +
      'Rows that send into the tunnel check the frame against the overlay MTU (check_pkt_larger into reg0[0]) and go on to 20. ' +
      'With security groups, delivery to a local VM loads its port into reg1 and goes on to 30 instead of outputting.',
    next: [TABLE.TUNNEL_OUT, TABLE.INGRESS_CT],
    miss: 'drop',
  },
  {
    id: TABLE.TUNNEL_OUT,
    name: 'tunnel_out',
    purpose:
      'Path MTU: a frame too big for the tunnel (reg0[0] set in 10) is never dropped silently. Too-big IPv4 goes to the controller ' +
      '(metered, first 128 bytes), which answers the sender with ICMP fragmentation-needed from its gateway; other too-big frames are dropped ' +
      '(counted by the row). Everything else is output to vxlan-int.',
    next: [],
    miss: 'output to vxlan-int (the priority-0 row; drop on a node whose vxlan-int is not known)',
  },
  {
    id: TABLE.INGRESS_CT,
    name: 'ingress_ct',
    purpose:
      'To a local VM (reg1 = its port): IPv4 leaves any earlier conntrack state (ct_clear: the sender may be a VM of this node, tracked in ' +
      'its own zone) and goes through conntrack in the receiving VM\'s zone (reg1) to 31; other ethertypes go to 32.',
    next: [TABLE.INGRESS_ACL, TABLE.DELIVER],
    miss: 'drop',
  },
  {
    id: TABLE.INGRESS_ACL,
    name: 'ingress_acl',
    purpose:
      'Ingress security-group rules of the receiving VM (reg1): replies and related packets pass, invalid ones are dropped, DHCP server replies ' +
      '(udp 67->68) pass; every other packet must match an ingress rule of one of its groups, and is committed. A packet no rule allows is ' +
      'dropped by the VM\'s own row (counted).',
    next: [TABLE.DELIVER],
    miss: 'drop',
  },
  {
    id: TABLE.DELIVER,
    name: 'deliver',
    purpose: 'Output to the local VM whose port is in reg1.',
    next: [],
    miss: 'drop',
  },
  {
    id: TABLE.BROADCAST,
    name: 'broadcast',
    purpose:
      'ARP responder (gateway IPs and VM IPs answered on the asker\'s own node); DHCP to the controller (or the DHCP node); broadcast from a local VM to the other ' +
      'local VMs of its subnet (then 60); broadcast arriving from the switch delivered to the local VMs of its tun_id. With security groups each ' +
      'copy for a local VM goes through that VM\'s ingress rules instead (reg1 = its port, resubmit(,30), one conntrack pass per receiver).',
    next: [TABLE.FLOOD],
    miss: 'drop',
  },
  {
    id: TABLE.FLOOD,
    name: 'flood',
    purpose:
      'Head-end (default): the sending node replicates the subnet broadcast to each other node hosting the subnet, one vxlan-int output each. ' +
      'With broadcast: switch-node, compute/DHCP nodes send it to the switch node (vxlan-sw), which replicates to every other host that has VMs of ' +
      'the packet\'s tun_id, never back to the sender\'s host.',
    next: [],
    miss: 'drop',
  },
];

const byId = new Map(TABLES.map((t) => [t.id, t]));

export function tableDecl(id: number): TableDecl {
  const t = byId.get(id);
  if (!t) throw new Error(`table ${id} is not declared in tables.ts`);
  return t;
}

/** Throws unless `from` may goto `to` (declared, and forward only). */
export function checkGoto(from: number, to: number): void {
  if (!tableDecl(from).next.includes(to)) throw new Error(`goto_table:${to} from table ${from} is not declared in tables.ts`);
  tableDecl(to);
}

/** Named priorities, per table. Higher wins. The comments say why each sits where it does. */
export const PRIORITY = {
  [TABLE.CLASSIFY]: {
    /** Gateway: IPv4 from its kernel (LOCAL) with a transit source: a VM's packet forwarded back into the overlay, which would cross projects. */
    TRANSIT_SPOOF: 30,
    /** dl_dst multicast/broadcast from an admitted port (seed: 0/20 broadcast, 0/10 multicast). */
    MULTICAST: 20,
    /** Gateway: IPv4 from its kernel to a VM's transit address, rewritten to the VM's address and domain (north-south.ts). */
    TRANSIT_IN: 15,
    /** Any other (unicast) frame from an admitted port (seed: 0/10 unicast); with security groups, any frame of a VM's own MAC. */
    UNICAST: 10,
    /** Security groups: a VM port's frame from any other MAC, dropped by a row of its own so it is counted per VM. */
    SPOOFED_MAC: 5,
    MISS: 0,
  },
  [TABLE.PORT_SECURITY]: {
    /** DHCP client traffic (from 0.0.0.0 or its own IP, udp 68->67): never filtered, as in Neutron and OVN. */
    DHCP_CLIENT: 50,
    /** The VM's own IPv4 source / ARP sender (and RFC 5227 probes from 0.0.0.0). */
    OWN_ADDRESS: 40,
    /** Any other IPv4 or ARP from the VM: spoofed, dropped and counted per VM. */
    SPOOFED: 30,
    /** IPv6: the overlay is IPv4 only, and IPv6 between VMs would bypass every rule. */
    IPV6: 20,
    /** Other ethertypes: the MAC was checked in table 0; no IP, nothing for a rule to match. */
    OTHER: 1,
    MISS: 0,
  },
  [TABLE.EGRESS_ACL]: {
    /** ct_state=+inv: never passes. */
    INVALID: 40,
    /** Replies (+est+rpl) and related packets (+rel, e.g. ICMP errors) of a tracked connection. */
    REPLY: 30,
    /** One row per (VM, rule, remote address, port block) where that is no larger than a conjunction. */
    RULE: 15,
    /** Conjunctive match clauses and their conj_id row, for rules whose VMs, remotes and port blocks would multiply. */
    RULE_CONJ: 10,
    /** A packet of this VM that no rule allows: dropped by a row of its own, so it is counted per VM. */
    DENIED: 5,
    MISS: 0,
  },
  [TABLE.EGRESS_OUT]: {
    MULTICAST: 20,
    UNICAST: 10,
    MISS: 0,
  },
  [TABLE.UNICAST]: {
    /** DHCP node: unicast DHCP (renewals) from a tunnel, per known VNI, to the local server. */
    TUNNEL_TO_DHCP: 30,
    /** (tun_id, eth_dst) -> a VM: local port, or vxlan-int to its host (seed: 10/15). */
    L2: 15,
    /** Gateway: IPv4 to a transit address from a VM: never handed to the kernel (it would route it into another project). */
    TRANSIT_DROP: 14,
    /**
     * Gateway: tunnel traffic for the gateway MAC, per known VNI of the default domain, to LOCAL (the kernel routes and
     * NATs it); a VM with a transit address: its IPv4 only, with the source rewritten to that address.
     */
    TUNNEL_TO_GATEWAY: 13,
    /** Tunnel traffic is only ever delivered by the rows above: never routed, never re-tunnelled. */
    TUNNEL_DROP: 12,
    /** A local VM's unicast DHCP (lease renewal to the server id, resolved to the gateway MAC) to the controller or the DHCP node. */
    DHCP_RENEW: 11,
    /** (reg2, ipv4_dst) -> a VM of any subnet of the packet's routing domain: routed directly, never via the gateway (seed: 10/10). */
    ROUTED: 10,
    /** Another project's subnet gateway IP (held by no kernel): ICMP echo answered here, on the asker's node (gateway-echo.ts). */
    GATEWAY_ECHO: 8,
    /** Any other IPv4 of another project to an address inside its own subnets that is no VM: dropped, never to the gateway. */
    DOMAIN_UNKNOWN: 7,
    /** A unicast ARP request to the gateway MAC for a gateway IP, answered here like a broadcast one in 50. */
    GATEWAY_ARP: 6,
    /** A local VM's frames for the gateway MAC to its own gateway (seed: 10/5). */
    TO_GATEWAY: 5,
    MISS: 0,
  },
  [TABLE.TUNNEL_OUT]: {
    /** IPv4 larger than the overlay MTU: to the controller (meter PATH_MTU_METER), which sends ICMP frag-needed back. */
    TOO_BIG_IPV4: 20,
    /** Any other frame larger than the overlay MTU (no ICMPv4 to send): dropped, counted by this row. */
    TOO_BIG_OTHER: 10,
    /** Fits: output to vxlan-int (tun_id and tun_ipv4_dst were set in table 10). */
    TO_TUNNEL: 0,
    MISS: 0,
  },
  [TABLE.INGRESS_CT]: {
    /** IPv4 to conntrack in the receiving VM's zone. */
    IPV4: 10,
    /** Other ethertypes straight to delivery. */
    OTHER: 5,
    MISS: 0,
  },
  [TABLE.INGRESS_ACL]: {
    INVALID: 40,
    REPLY: 30,
    /** DHCP server replies (udp 67->68) to the VM: never filtered. */
    DHCP_REPLY: 20,
    RULE: 15,
    RULE_CONJ: 10,
    DENIED: 5,
    MISS: 0,
  },
  [TABLE.DELIVER]: {
    VM: 10,
    MISS: 0,
  },
  [TABLE.BROADCAST]: {
    /** Broadcast from the switch (vxlan-sw) by tun_id to local VMs; DHCP node: DHCP from vxlan-int to the server. */
    TUNNEL_DELIVER: 30,
    /** Anything else from a tunnel: never answered, never sent back out. */
    TUNNEL_DROP: 25,
    /** ARP probes (RFC 5227, sender IP 0.0.0.0): answering one would tell a VM its own address is taken. */
    ARP_PROBE_DROP: 21,
    /** ARP requests for gateway IPs and VM IPs of the asker's routing domain (reg2) answered locally (seed: 50/20); a gateway's kernel's for transit addresses. */
    ARP_RESPONDER: 20,
    /** DHCP client broadcast (udp 68->67) from a local VM's port to the controller (metered), or to the DHCP node (seed: 50/15). */
    DHCP_TO_SERVER: 15,
    /** DHCP node: broadcast from LOCAL with a subnet's gateway IP as source, to that subnet. */
    DHCP_REPLY: 12,
    /** Broadcast from a local VM: to the other local VMs of its subnet, then table 60 (seed: 50/10). */
    LOCAL_BROADCAST: 10,
    MISS: 0,
  },
  [TABLE.FLOOD]: {
    /** Switch node: (source host port, tun_id) -> every other member host of that subnet (seed: 60/10). */
    SWITCH_REPLICATE: 10,
    /** Head-end (network.broadcast: head-end): tun_id -> one tunnel output per other node hosting that subnet. */
    HEAD_END: 5,
    /** Compute/DHCP node: to the switch (seed: 60/0, without the clone). */
    TO_SWITCH: 0,
    MISS: 0,
  },
} as const;

/**
 * State carried between tables. The subnet a packet belongs to travels in tun_id from table 0 on, which is also what
 * VXLAN puts on the wire; one register bit says "too big for the tunnel" from table 10 to 20; reg1 names the VM a
 * security-group table filters for; reg2 carries the routing domain (the project); no metadata is used.
 */
export interface CarriedField {
  readonly field: string;
  readonly meaning: string;
  readonly setIn: string;
  readonly readIn: string;
}

export const CARRIED_FIELDS: readonly CarriedField[] = [
  {
    field: 'tun_id',
    meaning: 'VNI of the subnet the packet belongs to (the logical network)',
    setIn: '0 (from the VM port), 10 (routed: destination subnet), 50 (DHCP node replies); by VXLAN on tunnel ingress',
    readIn: '10, 50, 60 (matched); output to vxlan-int / vxlan-sw (becomes the VNI)',
  },
  {
    field: 'tun_ipv4_dst',
    meaning: 'underlay address of the node a vxlan-int packet goes to',
    setIn: '10, 50 (Nicira load, just before output:vxlan-int)',
    readIn: 'output to vxlan-int (remote_ip=flow)',
  },
  {
    field: 'reg0[0]',
    meaning: 'the frame is larger than the overlay MTU + 14 (too big for the tunnel)',
    setIn: '10 (check_pkt_larger, on rows that go on to 20)',
    readIn: '20',
  },
  {
    field: 'reg1',
    meaning: 'security groups: the local VM port the packet is being filtered for (sender on egress, receiver on ingress); its low 16 bits are that VM\'s conntrack zone',
    setIn: '0 (a VM\'s frames: its port), 10 (delivery to a local VM: its port)',
    readIn: '1-3, 30-32 (matched; ct zone=NXM_NX_REG1[0..15]; output in 32)',
  },
  {
    field: 'reg2',
    meaning:
      'the routing domain (project) the packet belongs to: routing, ARP answers and security-group rules match it, so two projects may use ' +
      'the same addresses without one ever matching a flow of the other',
    setIn: '0 (a VM\'s frames: its subnet\'s domain; a tunnel frame: by tun_id; the kernel of a gateway/DHCP node: the default domain, or the VM\'s for a transit address)',
    readIn: '10 (routed, gateway ARP), 50 (ARP responder), 2 and 31 (security-group rules)',
  },
  {
    field: 'ct_state, conj_id',
    meaning: 'conntrack state of the packet in the VM\'s zone; the conjunctive match that allowed it',
    setIn: 'ct(table=2) in 1, ct(table=31) in 30; conjunction clauses in 2 and 31',
    readIn: '2, 31',
  },
  { field: 'reg0[1..31], reg3..reg15, metadata', meaning: 'unused', setIn: '-', readIn: '-' },
];
