// Gateway stage: egress (weak spot 2 of the seed, see docs/pipeline.md).
// VMs send to their gateway through vxlan-int with their subnet's VNI in tun_id. The gateway admits, per subnet it
// knows, tunnel frames for the gateway MAC and hands them to its kernel (LOCAL), which holds every subnet's
// gateway IP on br0 (br0's MAC = GATEWAY_MAC), routes and SNATs. Replies need no gateway-specific row: the kernel
// ARPs for the VM (answered by the endpoint stage's responder) and sends to the VM's MAC; the routed row of the
// endpoint stage sends it to the VM's host with the VM's subnet VNI, as on any node.
import type { FlowMod } from '../../openflow/index.js';
import { hasRole } from '../../topology/model.js';
import type { SubnetInfo } from '../cloud-index.js';
import { cookieFor } from '../cookie.js';
import { match } from '../fields.js';
import { flow, OUTPUT_LOCAL } from '../flow.js';
import { F, inPort, tunId } from '../rows.js';
import { NONE, type CompileContext, type NodeView, type Stage } from '../stage.js';
import { PRIORITY, TABLE } from '../tables.js';

function subnetFlows(ctx: CompileContext, view: NodeView, s: SubnetInfo): readonly FlowMod[] {
  const vxlanInt = view.vxlanInt;
  if (vxlanInt === undefined) return NONE;
  const slot = `gateway-in:${vxlanInt}`;
  return (
    ctx.get<FlowMod[]>(s, slot) ??
    ctx.set(s, slot, [
      flow({
        table: TABLE.UNICAST,
        priority: PRIORITY[TABLE.UNICAST].TUNNEL_TO_GATEWAY,
        cookie: cookieFor('subnet', s.vni, 'gateway'),
        match: match(inPort(vxlanInt), tunId(s.vniBytes), F.gatewayMacDst),
        actions: [OUTPUT_LOCAL],
      }),
    ])
  );
}

export const gatewayStage: Stage = {
  name: 'gateway',
  applies: (n) => hasRole(n, 'gateway'),
  subnet: subnetFlows,
};
