// Switch stage: the broadcast hub. It has one VXLAN port per broadcast member (compute and DHCP nodes), named
// switchPortName(host). For each subnet and each host that may send its broadcast (hosts with VMs of the subnet,
// and the DHCP node), one row replicates (in_port=that host, tun_id=VNI) to every *other* host with VMs of the
// subnet: never back to the sender's host (listed explicitly, not left to OVS's in_port rule), never to a host
// without the subnet (unlike the seed's ALL, which also hit LOCAL and every host).
import type { Action, FlowMod } from '../../openflow/index.js';
import { hasRole, switchPortName } from '../../topology/model.js';
import type { SubnetInfo } from '../cloud-index.js';
import { cookieFor } from '../cookie.js';
import { match } from '../fields.js';
import { flow, output } from '../flow.js';
import { F, inPort, tunId } from '../rows.js';
import type { CompileContext, NodeView, Stage } from '../stage.js';
import { PRIORITY, TABLE } from '../tables.js';
import { missRows } from './endpoint.js';

function nodeFlows(_ctx: CompileContext, view: NodeView): FlowMod[] {
  const cookie = cookieFor('node', view.info.tunnelIp, 'switch');
  return [
    ...missRows(cookie),
    flow({ table: TABLE.CLASSIFY, priority: PRIORITY[TABLE.CLASSIFY].MULTICAST, cookie, match: match(F.multicastDst), goto: TABLE.FLOOD }),
  ];
}

function subnetFlows(ctx: CompileContext, view: NodeView, s: SubnetInfo): FlowMod[] {
  const hosts = ctx.index.subnetHosts.get(s.subnet.name) ?? [];
  const dhcp = ctx.index.dhcpNode?.node.name;
  const sources = dhcp && !hosts.includes(dhcp) ? [...hosts, dhcp].sort() : hosts;
  // Member hosts whose switch port is known, with their ports (computed once per subnet, not per source).
  const members: { host: string; port: number }[] = [];
  for (const host of hosts) {
    const port = view.ports.get(switchPortName(host));
    if (port !== undefined) members.push({ host, port });
  }
  const cookie = cookieFor('subnet', s.vni, 'switch');
  const vni = tunId(s.vniBytes);
  const out: FlowMod[] = [];
  for (const source of sources) {
    const from = view.ports.get(switchPortName(source));
    if (from === undefined) continue;
    const actions: Action[] = [];
    for (const m of members) if (m.host !== source) actions.push(output(m.port));
    if (!actions.length) continue;
    out.push(flow({ table: TABLE.FLOOD, priority: PRIORITY[TABLE.FLOOD].SWITCH_REPLICATE, cookie, match: match(inPort(from), vni), actions }));
  }
  return out;
}

export const switchStage: Stage = {
  name: 'switch',
  applies: (n) => hasRole(n, 'switch'),
  node: nodeFlows,
  subnet: subnetFlows,
};
