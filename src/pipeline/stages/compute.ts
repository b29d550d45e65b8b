// Compute stage: the node's own VMs.
// - table 0 admits a VM port only with its VM's MAC as source and tags the frame with the subnet's VNI (tun_id):
//   from then on every table knows the frame's subnet, whichever port it came from;
// - egress to the VM's own gateway, carrying the VNI so the gateway can tell subnets apart;
// - DHCP (broadcast and unicast renewals) to the controller (dhcp-punt.ts), or with `dhcp: node` to the DHCP node;
// - broadcast (weak spot 1 of the seed, see docs/pipeline.md): a VM's broadcast is output to each *other* local VM
//   of its subnet, listed explicitly (the sender is never in the list), then to the switch (table 60). The switch
//   sends it to every other host of the subnet, never back to this one; there it is delivered by tun_id to the local
//   VMs of that subnet only. No clone/resubmit changes in_port, so nothing can loop back to the sender.
import type { FlowMod } from '../../openflow/index.js';
import { DEFAULT_DOMAIN, hasRole } from '../../topology/model.js';
import type { SubnetInfo, VmInfo } from '../cloud-index.js';
import { cookieFor } from '../cookie.js';
import { dhcpPuntRows } from '../dhcp-punt.js';
import { headEndDelivery, headEndReplication } from '../head-end.js';
import { match, oxm, u32 } from '../fields.js';
import { flow, OUTPUT_LOCAL } from '../flow.js';
import { deliverCopies, DHCP_REQUEST_MATCH, F, inDomain, inPort, loadDomain, loadVmPort, setTunId, tunId, tunnelChecked, tunnelTo } from '../rows.js';

const DEFAULT_DOMAIN_BYTES = u32(DEFAULT_DOMAIN);
import { localPorts, NONE, sgEnforced, type CompileContext, type NodeView, type Stage } from '../stage.js';
import { PRIORITY, TABLE } from '../tables.js';
import { localTransitEgress } from './gateway.js';

const P0 = PRIORITY[TABLE.CLASSIFY];
const P10 = PRIORITY[TABLE.UNICAST];
const P50 = PRIORITY[TABLE.BROADCAST];

function nodeFlows(ctx: CompileContext, view: NodeView): FlowMod[] {
  const dhcp = ctx.index.dhcpNode;
  if (!dhcp || ctx.dhcp === 'controller') return [];
  const cookie = cookieFor('node', view.info.tunnelIp, 'compute');
  // A VM's DHCP traffic goes to the DHCP node whatever its destination MAC: DISCOVER/REQUEST are broadcast
  // (table 50), renewals are unicast to the server id, which ARP resolves to the gateway MAC (table 10).
  let toServer;
  if (dhcp === view.info) toServer = [OUTPUT_LOCAL];
  else if (view.vxlanInt !== undefined) toServer = tunnelTo(dhcp.tunnelIp, view.vxlanInt);
  else return [];
  // The DHCP node's kernel holds the default domain's gateway IPs only: other domains' VMs get the controller's (vmFlows).
  const m = match(inDomain(DEFAULT_DOMAIN_BYTES), ...DHCP_REQUEST_MATCH);
  return [
    flow({ table: TABLE.BROADCAST, priority: P50.DHCP_TO_SERVER, cookie, match: m, actions: toServer }),
    flow({ table: TABLE.UNICAST, priority: P10.DHCP_RENEW, cookie, match: m, actions: toServer }),
  ];
}

function subnetFlows(ctx: CompileContext, view: NodeView, s: SubnetInfo): readonly FlowMod[] {
  const local = localPorts(ctx, view, s.subnet.name);
  if (!local.length) return NONE;
  const cookie = cookieFor('subnet', s.vni, 'compute');
  const out: FlowMod[] = [];
  const ports = local.map((l) => l.port);
  const filtered = sgEnforced(ctx, view);
  if (ctx.broadcast === 'head-end') out.push(...headEndDelivery(ctx, view, s, cookie), ...headEndReplication(ctx, view, s, cookie));
  // Broadcast from the switch: to every local VM of the packet's subnet (the sender is on another host).
  else if (view.vxlanSw !== undefined) {
    out.push(
      flow({
        table: TABLE.BROADCAST,
        priority: P50.TUNNEL_DELIVER,
        cookie,
        match: match(inPort(view.vxlanSw), tunId(s.vniBytes)),
        actions: deliverCopies(ports, filtered),
      }),
    );
  }
  // Broadcast from a local VM: to the other local VMs of its subnet, explicitly excluding the sender, then table 60.
  for (const sender of local) {
    out.push(
      flow({
        table: TABLE.BROADCAST,
        priority: P50.LOCAL_BROADCAST,
        cookie: cookieFor('vm', sender.vm.cookieId, 'compute'),
        match: match(inPort(sender.port)),
        actions: deliverCopies(ports.filter((p) => p !== sender.port), filtered),
        goto: TABLE.FLOOD,
      }),
    );
  }
  return out;
}

function vmFlows(ctx: CompileContext, view: NodeView, vm: VmInfo): readonly FlowMod[] {
  if (vm.host !== view.info) return NONE;
  const port = view.ports.get(vm.vm.port);
  if (port === undefined) return NONE;
  const cookie = cookieFor('vm', vm.cookieId, 'compute');
  const admit = [inPort(port), oxm('eth_src', vm.mac)] as const;
  const tag = [setTunId(vm.subnet.vniBytes), loadDomain(vm.subnet.domain)];
  const out = ctx.index.sg
    ? // Security groups: every frame of the VM's own MAC goes through port security and its rules first (tables 1-3).
      [flow({ table: TABLE.CLASSIFY, priority: P0.UNICAST, cookie, match: match(...admit), actions: [...tag, loadVmPort(port)], goto: TABLE.PORT_SECURITY })]
    : [
        flow({ table: TABLE.CLASSIFY, priority: P0.MULTICAST, cookie, match: match(admit[0], F.multicastDst, admit[1]), actions: tag, goto: TABLE.BROADCAST }),
        flow({ table: TABLE.CLASSIFY, priority: P0.UNICAST, cookie, match: match(...admit), actions: tag, goto: TABLE.UNICAST }),
      ];
  if (ctx.dhcp === 'controller' || vm.subnet.domain !== DEFAULT_DOMAIN) out.push(...dhcpPuntRows(cookie, port, vm.subnet.gatewayIpBytes));
  // To its own gateway (seed 10/5): the frame already carries its subnet's VNI from table 0.
  // Through the tunnel, the frame is checked against the overlay MTU on the way (table 20).
  const toGatewayMatch = match(F.gatewayMacDst, oxm('eth_src', vm.mac));
  if (vm.gateway === view.info) {
    // Its own node is its gateway: a VM with a transit address reaches the kernel as the gateway's tunnel rows would
    // hand it over (IPv4 from its own address, rewritten to the transit one; gateway.ts).
    const transit = localTransitEgress(vm);
    out.push(
      transit
        ? flow({ table: TABLE.UNICAST, priority: P10.TO_GATEWAY, cookie, match: match(F.gatewayMacDst, oxm('eth_src', vm.mac), ...transit[0]), actions: [transit[1], OUTPUT_LOCAL] })
        : flow({ table: TABLE.UNICAST, priority: P10.TO_GATEWAY, cookie, match: toGatewayMatch, actions: [OUTPUT_LOCAL] }),
    );
  } else if (view.vxlanInt !== undefined) {
    out.push(
      flow({
        table: TABLE.UNICAST,
        priority: P10.TO_GATEWAY,
        cookie,
        match: toGatewayMatch,
        actions: tunnelChecked(vm.gateway.tunnelIp, ctx.overlayMtu),
        goto: TABLE.TUNNEL_OUT,
      }),
    );
  }
  return out;
}

export const computeStage: Stage = {
  name: 'compute',
  applies: (n) => hasRole(n, 'compute'),
  node: nodeFlows,
  subnet: subnetFlows,
  vm: vmFlows,
};
