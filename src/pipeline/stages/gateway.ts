// Gateway stage: egress (weak spot 2 of the seed, see docs/pipeline.md) and north-south for overlapping projects.
// VMs send to their gateway through vxlan-int with their subnet's VNI in tun_id. The gateway admits, per subnet of
// the default routing domain, tunnel frames for the gateway MAC and hands them to its kernel (LOCAL), which holds
// those subnets' gateway IPs on br0 (br0's MAC = GATEWAY_MAC), routes and SNATs. Replies need no gateway-specific
// row: the kernel ARPs for the VM (answered by the endpoint stage's responder) and sends to the VM's MAC; the routed
// row of the endpoint stage sends it to the VM's host with the VM's subnet VNI, as on any node.
//
// Other projects may reuse the default project's addresses (and each other's), which one kernel cannot tell apart,
// so their VMs meet the kernel under their transit address (topology/north-south.ts), statelessly, per VM:
// - out: a VM's IPv4 from the tunnel (its VNI, its own source) gets the transit address as source, then LOCAL;
// - in: the kernel's IPv4 to a transit address gets the VM's address back and the VM's domain in reg2 (table 0),
//   and the routed row takes it to the VM like any packet of that domain; the kernel's ARP for a transit address is
//   answered here (with the VM's MAC: the routed row sets the real one anyway).
// Two rows keep the kernel from joining projects: a VM's IPv4 to a transit address is never handed to it (it would
// route it to another project's VM), and IPv4 from it with a transit source (a VM's packet it routed back into the
// overlay) is dropped.
import type { FlowMod } from '../../openflow/index.js';
import { DEFAULT_DOMAIN, hasRole } from '../../topology/model.js';
import type { SubnetInfo, VmInfo } from '../cloud-index.js';
import { cookieFor } from '../cookie.js';
import { match, oxm, u32 } from '../fields.js';
import { flow, OUTPUT_LOCAL, setField } from '../flow.js';
import { arpResponder, F, inPort, loadDomain, tunId } from '../rows.js';
import { NONE, type CompileContext, type NodeView, type Stage } from '../stage.js';
import { PRIORITY, TABLE } from '../tables.js';

const P0 = PRIORITY[TABLE.CLASSIFY];
const P10 = PRIORITY[TABLE.UNICAST];

function transitRange(ctx: CompileContext): ReturnType<typeof oxm> {
  const t = ctx.transitRange;
  const mask = t.prefix === 0 ? 0 : (0xffffffff << (32 - t.prefix)) >>> 0;
  return oxm('ipv4_dst', u32(t.network), u32(mask));
}

function nodeFlows(ctx: CompileContext, view: NodeView): readonly FlowMod[] {
  const cookie = cookieFor('node', view.info.tunnelIp, 'gateway');
  const dst = transitRange(ctx);
  const src = oxm('ipv4_src', dst.value, dst.mask);
  return [
    flow({ table: TABLE.UNICAST, priority: P10.TRANSIT_DROP, cookie, match: match(F.ethTypeIp, F.gatewayMacDst, dst) }),
    flow({ table: TABLE.CLASSIFY, priority: P0.TRANSIT_SPOOF, cookie, match: match(F.inPortLocal, F.ethTypeIp, src) }),
  ];
}

function subnetFlows(ctx: CompileContext, view: NodeView, s: SubnetInfo): readonly FlowMod[] {
  const vxlanInt = view.vxlanInt;
  // Another domain's VMs reach the kernel only through their own rows (vmFlows), IPv4 with their source rewritten.
  if (vxlanInt === undefined || s.domain !== DEFAULT_DOMAIN) return NONE;
  const slot = `gateway-in:${vxlanInt}`;
  return (
    ctx.get<FlowMod[]>(s, slot) ??
    ctx.set(s, slot, [
      flow({
        table: TABLE.UNICAST,
        priority: P10.TUNNEL_TO_GATEWAY,
        cookie: cookieFor('subnet', s.vni, 'gateway'),
        match: match(inPort(vxlanInt), tunId(s.vniBytes), F.gatewayMacDst),
        actions: [OUTPUT_LOCAL],
      }),
    ])
  );
}

function vmFlows(ctx: CompileContext, view: NodeView, vm: VmInfo): readonly FlowMod[] {
  if (vm.transitIpBytes === undefined) return NONE;
  const slot = `transit:${view.vxlanInt ?? 'none'}`;
  const cached = ctx.get<FlowMod[]>(vm, slot);
  if (cached) return cached;
  const cookie = cookieFor('vm', vm.cookieId, 'gateway');
  const out: FlowMod[] = [
    flow({
      table: TABLE.CLASSIFY,
      priority: P0.TRANSIT_IN,
      cookie,
      match: match(F.inPortLocal, F.ethTypeIp, oxm('ipv4_dst', vm.transitIpBytes)),
      actions: [setField(oxm('ipv4_dst', vm.ipBytes)), loadDomain(vm.subnet.domain)],
      goto: TABLE.UNICAST,
    }),
    arpResponder(cookie, vm.transitIpBytes, vm.mac, F.inPortLocal),
  ];
  if (view.vxlanInt !== undefined) {
    out.push(
      flow({
        table: TABLE.UNICAST,
        priority: P10.TUNNEL_TO_GATEWAY,
        cookie,
        match: match(inPort(view.vxlanInt), tunId(vm.subnet.vniBytes), F.gatewayMacDst, F.ethTypeIp, oxm('ipv4_src', vm.ipBytes)),
        actions: [setField(oxm('ipv4_src', vm.transitIpBytes)), OUTPUT_LOCAL],
      }),
    );
  }
  return ctx.set(vm, slot, out);
}

/** A VM with a transit address whose gateway is its own node: its to-gateway row rewrites the source the same way (compute stage). */
export function localTransitEgress(vm: VmInfo): readonly [ReturnType<typeof oxm>[], ReturnType<typeof setField>] | undefined {
  if (vm.transitIpBytes === undefined) return undefined;
  return [[F.ethTypeIp, oxm('ipv4_src', vm.ipBytes)], setField(oxm('ipv4_src', vm.transitIpBytes))];
}

export const gatewayStage: Stage = {
  name: 'gateway',
  applies: (n) => hasRole(n, 'gateway'),
  node: nodeFlows,
  subnet: subnetFlows,
  vm: vmFlows,
};
