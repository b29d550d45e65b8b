// Head-end broadcast (`network.broadcast: head-end`, docs/pipeline.md "Head-end broadcast"): the sending node itself
// replicates a subnet's broadcast to every other node hosting that subnet, one tunnel output each, so no switch node
// is on the path. The replication is an action list on one row per subnet (load tun_ipv4_dst, output:vxlan-int, for
// each other host), not an OpenFlow group: it is compiled with the rest of the node's pipeline and goes to the switch
// in the same bundle, so membership and replication change atomically, and the runtime needs no group state. Nothing
// rewrites in_port, and the list never names the node itself, so nothing comes back to the sender's node; a receiving
// node delivers by tun_id to its local VMs of that subnet only and never sends tunnel traffic out again.
import type { FlowMod } from '../openflow/index.js';
import type { SubnetInfo } from './cloud-index.js';
import { match } from './fields.js';
import { flow } from './flow.js';
import { deliverCopies, inPort, tunId, tunnelTo } from './rows.js';
import { localPorts, sgEnforced, type CompileContext, type NodeView } from './stage.js';
import { PRIORITY, TABLE } from './tables.js';

/**
 * Table 60 on a node sending the subnet's broadcast: one row, tun_id = VNI, outputs to each other node hosting the
 * subnet (name order). None when no other node hosts it (the local copies were made in table 50).
 */
export function headEndReplication(ctx: CompileContext, view: NodeView, s: SubnetInfo, cookie: bigint): FlowMod[] {
  if (view.vxlanInt === undefined) return [];
  const actions = [];
  for (const host of ctx.index.subnetHosts.get(s.subnet.name) ?? []) {
    if (host === view.node.name) continue;
    const info = ctx.index.nodes.get(host);
    if (info) actions.push(...tunnelTo(info.tunnelIp, view.vxlanInt));
  }
  if (!actions.length) return [];
  return [flow({ table: TABLE.FLOOD, priority: PRIORITY[TABLE.FLOOD].HEAD_END, cookie, match: match(tunId(s.vniBytes)), actions })];
}

/** Table 50 on a node hosting the subnet: its broadcast arriving from vxlan-int, to every local VM of the subnet. */
export function headEndDelivery(ctx: CompileContext, view: NodeView, s: SubnetInfo, cookie: bigint): FlowMod[] {
  if (view.vxlanInt === undefined) return [];
  const local = localPorts(ctx, view, s.subnet.name);
  if (!local.length) return [];
  return [
    flow({
      table: TABLE.BROADCAST,
      priority: PRIORITY[TABLE.BROADCAST].TUNNEL_DELIVER,
      cookie,
      match: match(inPort(view.vxlanInt), tunId(s.vniBytes)),
      actions: deliverCopies(
        local.map((l) => l.port),
        sgEnforced(ctx, view),
      ),
    }),
  ];
}
