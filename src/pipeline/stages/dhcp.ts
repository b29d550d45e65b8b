// DHCP stage: the DHCP node. Its kernel holds every subnet's gateway IP on br0 (br0's MAC = GATEWAY_MAC) and runs
// the server. Per subnet it knows:
// - DHCP client traffic from vxlan-int with that subnet's VNI goes to LOCAL (broadcast DISCOVER/REQUEST in table 50,
//   unicast renewals in table 10);
// - the server's broadcast replies (source IP = the subnet's gateway IP) get the subnet's VNI and go to the switch,
//   which takes them to every host of the subnet. Unicast replies need nothing here: the endpoint stage's routed
//   rows take them to the VM's host with its VNI.
import type { FlowMod } from '../../openflow/index.js';
import { DEFAULT_DOMAIN, hasRole } from '../../topology/model.js';
import type { SubnetInfo } from '../cloud-index.js';
import { cookieFor } from '../cookie.js';
import { match, oxm } from '../fields.js';
import { flow, OUTPUT_LOCAL } from '../flow.js';
import { headEndReplication } from '../head-end.js';
import { deliverCopies, DHCP_REQUEST_MATCH, F, inPort, setTunId, tunId } from '../rows.js';
import { localPorts, sgEnforced, type CompileContext, type NodeView, type Stage } from '../stage.js';
import { PRIORITY, TABLE } from '../tables.js';

function subnetFlows(ctx: CompileContext, view: NodeView, s: SubnetInfo): FlowMod[] {
  // Its kernel holds the default domain's gateway IPs only; other domains' VMs get their DHCP from the controller.
  if (s.domain !== DEFAULT_DOMAIN) return [];
  const cookie = cookieFor('subnet', s.vni, 'dhcp');
  const out: FlowMod[] = [];
  if (view.vxlanInt !== undefined) {
    const fromTunnel = match(inPort(view.vxlanInt), tunId(s.vniBytes), ...DHCP_REQUEST_MATCH);
    out.push(
      flow({ table: TABLE.UNICAST, priority: PRIORITY[TABLE.UNICAST].TUNNEL_TO_DHCP, cookie, match: fromTunnel, actions: [OUTPUT_LOCAL] }),
      flow({ table: TABLE.BROADCAST, priority: PRIORITY[TABLE.BROADCAST].TUNNEL_DELIVER, cookie, match: fromTunnel, actions: [OUTPUT_LOCAL] }),
    );
  }
  // If the DHCP node also runs VMs, its own VMs of the subnet get the broadcast reply directly.
  const local = deliverCopies(
    localPorts(ctx, view, s.subnet.name).map((l) => l.port),
    sgEnforced(ctx, view),
  );
  out.push(
    flow({
      table: TABLE.BROADCAST,
      priority: PRIORITY[TABLE.BROADCAST].DHCP_REPLY,
      cookie,
      match: match(F.inPortLocal, F.ethTypeIp, F.ipProtoUdp, oxm('ipv4_src', s.gatewayIpBytes), F.dhcpServerSrc, F.dhcpClientDst),
      actions: [setTunId(s.vniBytes), ...local],
      goto: TABLE.FLOOD,
    }),
  );
  // Head-end: the broadcast reply goes from here to each node hosting the subnet (the compute stage builds it when
  // this node hosts VMs too).
  if (ctx.broadcast === 'head-end' && !hasRole(view.node, 'compute')) out.push(...headEndReplication(ctx, view, s, cookie));
  return out;
}

export const dhcpStage: Stage = {
  name: 'dhcp',
  applies: (n) => hasRole(n, 'dhcp'),
  subnet: subnetFlows,
};
