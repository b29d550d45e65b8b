// Endpoint stage: what every overlay endpoint (compute, gateway and DHCP node) needs, whatever else it does.
// - every table's miss row;
// - admission of tunnel ports (vxlan-int; vxlan-sw on broadcast members) per VNI the node serves, loading the VNI's
//   routing domain into reg2, and of LOCAL (gateway/DHCP: the kernel, in the default domain);
// - tunnel traffic is only *delivered* (by tun_id + eth_dst, or the role-specific rows above TUNNEL_DROP): it is
//   never routed, answered or sent out again;
// - for every VM of the cloud: L2 delivery by (tun_id, eth_dst), distributed routing by (reg2, ipv4_dst), ARP for
//   its IP in its domain;
// - for every subnet: ARP for its gateway IP in its domain (answered with GATEWAY_MAC on the asker's own node),
//   broadcast or unicast to the gateway MAC; in any domain but the default one, ICMP echo to the gateway IP answered
//   and other IPv4 to the subnet's free addresses dropped (gateway-echo.ts).
//
// A remote VM's flows are the same on every node but for the vxlan-int port number, so they are built once per
// (VM, port number) and shared between nodes.
import { OFPP, type Action, type FlowMod } from '../../openflow/index.js';
import { DEFAULT_DOMAIN, hasRole, isBroadcastMember, isOverlayEndpoint } from '../../topology/model.js';
import type { SubnetInfo, VmInfo } from '../cloud-index.js';
import { cookieFor } from '../cookie.js';
import { match, oxm } from '../fields.js';
import { DEC_TTL, flow, output, setField } from '../flow.js';
import { gatewayEchoRows } from '../gateway-echo.js';
import { PATH_MTU_METER, PATH_MTU_PUNT_BYTES } from '../mtu.js';
import {
  arpResponder,
  drop,
  F,
  GATEWAY_MAC_BYTES,
  gatewayUnicastArpResponder,
  inDomain,
  inPort,
  loadDomain,
  loadVmPort,
  setTunId,
  tooBigMatch,
  tunId,
  tunnelChecked,
} from '../rows.js';
import type { CompileContext, NodeView, Stage } from '../stage.js';
import { PRIORITY, TABLE, TABLES } from '../tables.js';

const P0 = PRIORITY[TABLE.CLASSIFY];
const P10 = PRIORITY[TABLE.UNICAST];
const P20 = PRIORITY[TABLE.TUNNEL_OUT];
const P50 = PRIORITY[TABLE.BROADCAST];
const P60 = PRIORITY[TABLE.FLOOD];

/** Every table's explicit miss row (drop), except those a role fills at priority 0 itself. */
export function missRows(cookie: bigint, except: readonly number[] = []): FlowMod[] {
  return TABLES.filter((t) => !except.includes(t.id)).map((t) => drop(t.id, 0, cookie));
}

function nodeFlows(ctx: CompileContext, view: NodeView): FlowMod[] {
  const cookie = cookieFor('node', view.info.tunnelIp, 'endpoint');
  const out: FlowMod[] = [];
  const member = isBroadcastMember(view.node);
  // Table 60's priority-0 row is "to the switch" on broadcast members (when vxlan-sw is known, and the switch node
  // replicates), drop elsewhere.
  const toSwitch = member && view.vxlanSw !== undefined && ctx.broadcast === 'switch-node';
  out.push(...missRows(cookie, [...(toSwitch ? [TABLE.FLOOD] : []), ...(view.vxlanInt !== undefined ? [TABLE.TUNNEL_OUT] : [])]));
  if (toSwitch) out.push(flow({ table: TABLE.FLOOD, priority: P60.TO_SWITCH, cookie, match: [], actions: [output(view.vxlanSw!)] }));

  if (view.vxlanInt !== undefined) {
    out.push(...tunnelOutRows(cookie, view.vxlanInt));
    // Admission by VNI is per subnet (subnetFlows): a VNI this node does not serve is dropped by table 0's miss.
    const vxi = inPort(view.vxlanInt);
    out.push(
      drop(TABLE.UNICAST, P10.TUNNEL_DROP, cookie, vxi),
      drop(TABLE.BROADCAST, P50.TUNNEL_DROP, cookie, vxi),
    );
  }
  if (member && view.vxlanSw !== undefined) {
    // The switch only relays broadcast/multicast; unicast from it is dropped by the table-0 miss.
    const vxs = inPort(view.vxlanSw);
    out.push(drop(TABLE.BROADCAST, P50.TUNNEL_DROP, cookie, vxs));
  }
  if (hasRole(view.node, 'gateway') || hasRole(view.node, 'dhcp')) {
    // The node's kernel (gateway IPs, NAT, DHCP server) talks to VMs through br0's LOCAL port. It holds the default
    // domain's addresses only: other projects' VMs reach it by their transit addresses (gateway stage).
    const local = [loadDomain(DEFAULT_DOMAIN)];
    out.push(
      flow({ table: TABLE.CLASSIFY, priority: P0.MULTICAST, cookie, match: match(F.inPortLocal, F.multicastDst), actions: local, goto: TABLE.BROADCAST }),
      flow({ table: TABLE.CLASSIFY, priority: P0.UNICAST, cookie, match: match(F.inPortLocal), actions: local, goto: TABLE.UNICAST }),
    );
  }
  out.push(drop(TABLE.BROADCAST, P50.ARP_PROBE_DROP, cookie, F.ethTypeArp, F.arpRequest, F.arpSpaZero));
  return out;
}

/**
 * Table 20: what fits goes out of vxlan-int; too-big IPv4 goes to the controller (metered, truncated), which answers
 * with ICMP fragmentation-needed; any other too-big frame is dropped here, counted by its row.
 */
function tunnelOutRows(cookie: bigint, vxlanInt: number): FlowMod[] {
  return [
    flow({
      table: TABLE.TUNNEL_OUT,
      priority: P20.TOO_BIG_IPV4,
      cookie,
      match: match(F.ethTypeIp, tooBigMatch),
      meter: PATH_MTU_METER.id,
      actions: [PUNT_TOO_BIG],
    }),
    drop(TABLE.TUNNEL_OUT, P20.TOO_BIG_OTHER, cookie, tooBigMatch),
    flow({ table: TABLE.TUNNEL_OUT, priority: P20.TO_TUNNEL, cookie, match: [], actions: [output(vxlanInt)] }),
  ];
}

const PUNT_TOO_BIG: Action = { type: 'output', port: OFPP.CONTROLLER, maxLen: PATH_MTU_PUNT_BYTES };

function subnetFlows(ctx: CompileContext, view: NodeView, s: SubnetInfo): readonly FlowMod[] {
  const arp =
    ctx.get<FlowMod[]>(s, 'gateway-arp') ??
    ctx.set(s, 'gateway-arp', [
      arpResponder(cookieFor('subnet', s.vni, 'endpoint'), s.gatewayIpBytes, GATEWAY_MAC_BYTES, inDomain(s.domainBytes)),
      gatewayUnicastArpResponder(cookieFor('subnet', s.vni, 'endpoint'), s.gatewayIpBytes, inDomain(s.domainBytes)),
      ...gatewayEchoRows(cookieFor('subnet', s.vni, 'endpoint'), s),
    ]);
  // A compute node serves the VNIs of its own VMs (delivery, broadcast); a gateway or DHCP node every VNI (egress, DHCP).
  const serves = hasRole(view.node, 'gateway') || hasRole(view.node, 'dhcp') || ctx.index.localVms.get(view.node.name)?.has(s.subnet.name) === true;
  if (!serves) return arp;
  const admit: FlowMod[] = [];
  if (view.vxlanInt !== undefined) admit.push(...tunnelAdmission(ctx, s, view.vxlanInt));
  if (isBroadcastMember(view.node) && view.vxlanSw !== undefined) {
    // The switch only relays broadcast/multicast; unicast from it is dropped by the table-0 miss.
    admit.push(
      flow({
        table: TABLE.CLASSIFY,
        priority: P0.MULTICAST,
        cookie: cookieFor('subnet', s.vni, 'endpoint'),
        match: match(inPort(view.vxlanSw), tunId(s.vniBytes), F.multicastDst),
        actions: [loadDomain(s.domain)],
        goto: TABLE.BROADCAST,
      }),
    );
  }
  return [...arp, ...admit];
}

/** Table 0: frames of the subnet's VNI from vxlan-int, with its routing domain in reg2 (shared by nodes with that port number). */
function tunnelAdmission(ctx: CompileContext, s: SubnetInfo, vxlanInt: number): readonly FlowMod[] {
  const slot = `tunnel-in:${vxlanInt}`;
  const cached = ctx.get<FlowMod[]>(s, slot);
  if (cached) return cached;
  const cookie = cookieFor('subnet', s.vni, 'endpoint');
  const from = [inPort(vxlanInt), tunId(s.vniBytes)] as const;
  const actions = [loadDomain(s.domain)];
  return ctx.set(s, slot, [
    flow({ table: TABLE.CLASSIFY, priority: P0.MULTICAST, cookie, match: match(...from, F.multicastDst), actions, goto: TABLE.BROADCAST }),
    flow({ table: TABLE.CLASSIFY, priority: P0.UNICAST, cookie, match: match(...from), actions, goto: TABLE.UNICAST }),
  ]);
}

function vmFlows(ctx: CompileContext, view: NodeView, vm: VmInfo): readonly FlowMod[] {
  if (vm.host !== view.info) {
    // The hot path: the same shared array on every node with this vxlan-int port number.
    const slot = view.vxlanInt ?? 'no-vxlan-int';
    const cached = ctx.get<readonly FlowMod[]>(vm, slot);
    if (cached) return cached;
    const arp = vmArp(ctx, vm);
    return ctx.set(vm, slot, view.vxlanInt === undefined ? [arp] : [arp, ...remoteDelivery(vm, ctx.overlayMtu)]);
  }
  // Local VM: nothing but the ARP answer until its port is known.
  const port = view.ports.get(vm.vm.port);
  return port === undefined ? [vmArp(ctx, vm)] : [vmArp(ctx, vm), ...localDelivery(vm, port, ctx.index.sg !== undefined)];
}

function vmArp(ctx: CompileContext, vm: VmInfo): FlowMod {
  return ctx.get<FlowMod>(vm, 'arp') ?? ctx.set(vm, 'arp', arpResponder(cookieFor('vm', vm.cookieId, 'endpoint'), vm.ipBytes, vm.mac, inDomain(vm.subnet.domainBytes)));
}

const l2Match = (vm: VmInfo) => match(tunId(vm.subnet.vniBytes), oxm('eth_dst', vm.mac));
const routedMatch = (vm: VmInfo) => match(inDomain(vm.subnet.domainBytes), F.ethTypeIp, oxm('ipv4_dst', vm.ipBytes));
const SET_SRC_GATEWAY = setField(oxm('eth_src', GATEWAY_MAC_BYTES));

/**
 * To a VM on this node: L2 by (tun_id, eth_dst) (seed 10/15, local) and routed by ipv4_dst (seed 10/10, local).
 * With security groups the frame goes through the VM's ingress rules (tables 30-32, reg1 = its port) instead.
 */
function localDelivery(vm: VmInfo, port: number, filtered: boolean): FlowMod[] {
  const cookie = cookieFor('vm', vm.cookieId, 'endpoint');
  const deliver = filtered ? { actions: [loadVmPort(port)], goto: TABLE.INGRESS_CT } : { actions: [output(port)] };
  return [
    flow({ table: TABLE.UNICAST, priority: P10.L2, cookie, match: l2Match(vm), ...deliver }),
    flow({
      table: TABLE.UNICAST,
      priority: P10.ROUTED,
      cookie,
      match: routedMatch(vm),
      actions: [DEC_TTL, SET_SRC_GATEWAY, setField(oxm('eth_dst', vm.mac)), ...deliver.actions],
      ...(deliver.goto !== undefined && { goto: deliver.goto }),
    }),
  ];
}

/**
 * To a VM on another node, through the path-MTU check (table 20) and vxlan-int to its host: L2 keeps the tun_id it matched (seed 10/15, remote);
 * routed traffic gets the *destination* subnet's VNI and the VM's MAC, so the host delivers it by (tun_id, eth_dst)
 * like any L2 frame and never needs the gateway (seed 10/10, remote).
 */
function remoteDelivery(vm: VmInfo, overlayMtu: number): FlowMod[] {
  const cookie = cookieFor('vm', vm.cookieId, 'endpoint');
  const toHost = tunnelChecked(vm.host.tunnelIp, overlayMtu);
  return [
    flow({ table: TABLE.UNICAST, priority: P10.L2, cookie, match: l2Match(vm), actions: toHost, goto: TABLE.TUNNEL_OUT }),
    flow({
      table: TABLE.UNICAST,
      priority: P10.ROUTED,
      cookie,
      match: routedMatch(vm),
      actions: [DEC_TTL, SET_SRC_GATEWAY, setField(oxm('eth_dst', vm.mac)), setTunId(vm.subnet.vniBytes), ...toHost],
      goto: TABLE.TUNNEL_OUT,
    }),
  ];
}

export const endpointStage: Stage = {
  name: 'endpoint',
  applies: isOverlayEndpoint,
  node: nodeFlows,
  subnet: subnetFlows,
  vm: vmFlows,
};
