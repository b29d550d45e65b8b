// The pipeline, declared once (as Faucet's faucet_pipeline.py and OVN's northd.h do): table ids, names, purpose,
// the tables each may go to, what a miss does, the named priorities of its rows, and the fields used to carry
// state between tables. Stages build flows only through `flow()` (flow.ts), which checks them against this file.
//
// Table numbers are the seed's (0, 10, 50, 60) so its documentation and debugging habits still apply.

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
  UNICAST: 10,
  TUNNEL_OUT: 20,
  BROADCAST: 50,
  FLOOD: 60,
} as const;

export type TableId = (typeof TABLE)[keyof typeof TABLE];

export const TABLES: readonly TableDecl[] = [
  {
    id: TABLE.CLASSIFY,
    name: 'classify',
    purpose:
      'Admit packets by input port. A VM port admits only its VM\'s MAC (anti-spoofing) and tags the packet with its subnet\'s VNI in tun_id; ' +
      'tunnel ports and LOCAL are admitted as they are. Unicast goes to 10, broadcast/multicast to 50 (60 on the switch node).',
    next: [TABLE.UNICAST, TABLE.BROADCAST, TABLE.FLOOD],
    miss: 'drop (unknown port, or a VM sending from a MAC that is not its own)',
  },
  {
    id: TABLE.UNICAST,
    name: 'unicast',
    purpose:
      'L2 delivery by (tun_id, eth_dst) to a local port or through vxlan-int to the VM\'s host; distributed routing between subnets by ipv4_dst ' +
      '(rewrite MACs, tun_id of the destination subnet); VM egress to its own gateway; on gateways, tunnel traffic for the gateway MAC to LOCAL. ' +
      'Rows that send into the tunnel check the frame against the overlay MTU (check_pkt_larger into reg0[0]) and go on to 20.',
    next: [TABLE.TUNNEL_OUT],
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
    id: TABLE.BROADCAST,
    name: 'broadcast',
    purpose:
      'ARP responder (gateway IPs and VM IPs answered on the asker\'s own node); DHCP to the controller (or the DHCP node); broadcast from a local VM to the other ' +
      'local VMs of its subnet (then 60); broadcast arriving from the switch delivered to the local VMs of its tun_id.',
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
    /** dl_dst multicast/broadcast from an admitted port (seed: 0/20 broadcast, 0/10 multicast). */
    MULTICAST: 20,
    /** Any other (unicast) frame from an admitted port (seed: 0/10 unicast). */
    UNICAST: 10,
    MISS: 0,
  },
  [TABLE.UNICAST]: {
    /** DHCP node: unicast DHCP (renewals) from a tunnel, per known VNI, to the local server. */
    TUNNEL_TO_DHCP: 30,
    /** (tun_id, eth_dst) -> a VM: local port, or vxlan-int to its host (seed: 10/15). */
    L2: 15,
    /** Gateway: tunnel traffic for the gateway MAC, per known VNI, to LOCAL (the kernel routes and NATs it). */
    TUNNEL_TO_GATEWAY: 13,
    /** Tunnel traffic is only ever delivered by the rows above: never routed, never re-tunnelled. */
    TUNNEL_DROP: 12,
    /** A local VM's unicast DHCP (lease renewal to the server id, resolved to the gateway MAC) to the controller or the DHCP node. */
    DHCP_RENEW: 11,
    /** ipv4_dst -> a VM of any subnet: routed directly, never via the gateway (seed: 10/10). */
    ROUTED: 10,
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
  [TABLE.BROADCAST]: {
    /** Broadcast from the switch (vxlan-sw) by tun_id to local VMs; DHCP node: DHCP from vxlan-int to the server. */
    TUNNEL_DELIVER: 30,
    /** Anything else from a tunnel: never answered, never sent back out. */
    TUNNEL_DROP: 25,
    /** ARP probes (RFC 5227, sender IP 0.0.0.0): answering one would tell a VM its own address is taken. */
    ARP_PROBE_DROP: 21,
    /** ARP requests for gateway IPs and VM IPs answered locally (seed: 50/20). */
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
 * VXLAN puts on the wire; one register bit says "too big for the tunnel" from table 10 to 20; no metadata is used.
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
  { field: 'reg0[1..31], reg1..reg15, metadata', meaning: 'unused', setIn: '-', readIn: '-' },
];
