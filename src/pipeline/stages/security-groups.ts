// Security-group stage: port security and stateful filtering of every VM, on the VM's own node (tables 0-3 on the
// way out of a VM, 30-32 on the way in; tables.ts says what each table does). Only when the cloud has security
// groups (the controller's always does).
//
// Conntrack: one zone per VM port (the zone is the port's OpenFlow number, unique on its bridge, carried in reg1).
// Per port, not per subnet: two VMs of one node talking are tracked twice (the sender's zone on egress, the
// receiver's on ingress), so each side's rules and state stay its own; with one zone per subnet the egress commit
// would make the receiver's ingress lookup find the connection established and skip its rules.
//
// Rules are evaluated on every packet a VM sends or receives in the original direction of a connection, not only on
// the first: conntrack lets replies (+est+rpl) and related packets through, nothing else. Removing the rule that
// allowed a connection therefore stops its next packet in the allowed direction at once; the conntrack entry itself
// is left to expire (docs/security-groups.md).
//
// A rule is a set of dimensions on each node: the local VMs it applies to (reg1), its remote (the remote group's
// member addresses, or one CIDR) and its port blocks (a range as value/mask pairs). Where two or more dimensions have
// several values the cross product would multiply, so the rule becomes a conjunctive match (L + M + K clause rows and
// one conj_id row instead of L x M x K rows); otherwise plain rows.
import { hasRole, type SecurityRule } from '../../topology/model.js';
import { cidrMatch, portMasks } from '../../topology/security-groups.js';
import type { VmInfo } from '../cloud-index.js';
import { cookieFor, cookieForRule } from '../cookie.js';
import { CT, ETH_TYPE, FIELD_REFS, IP_PROTO, match, oxm, u16, u32, u8 } from '../fields.js';
import { flow, output } from '../flow.js';
import { F, inDomain, inPort } from '../rows.js';
import type { GroupInfo } from '../security-index.js';
import { NONE, sgEnforced, type CompileContext, type NodeView, type Stage } from '../stage.js';
import { checkGoto, PRIORITY, TABLE } from '../tables.js';
import { canonicalFlowKey as flowKey, NX_CT_F, NX_CT_RECIRC_NONE, type Action, type FlowMod, type OxmField } from '../../openflow/index.js';

const P0 = PRIORITY[TABLE.CLASSIFY];
const P1 = PRIORITY[TABLE.PORT_SECURITY];
const P2 = PRIORITY[TABLE.EGRESS_ACL];
const P3 = PRIORITY[TABLE.EGRESS_OUT];
const P30 = PRIORITY[TABLE.INGRESS_CT];
const P31 = PRIORITY[TABLE.INGRESS_ACL];
const P32 = PRIORITY[TABLE.DELIVER];

/** ct(table=to, zone=NXM_NX_REG1[0..15]): conntrack in the VM's zone, then on in table `to`. */
function ctTo(from: number, to: number): Action {
  checkGoto(from, to);
  return { type: 'nx_ct', flags: 0, zoneSrc: FIELD_REFS.reg1, zoneOfs: 0, zoneNBits: 16, zoneImm: 0, recircTable: to, alg: 0, actions: [] };
}

/** ct(commit, zone=NXM_NX_REG1[0..15]). */
const CT_COMMIT: Action = {
  type: 'nx_ct',
  flags: NX_CT_F.COMMIT,
  zoneSrc: FIELD_REFS.reg1,
  zoneOfs: 0,
  zoneNBits: 16,
  zoneImm: 0,
  recircTable: NX_CT_RECIRC_NONE,
  alg: 0,
  actions: [],
};
const CT_CLEAR: Action = { type: 'nx_ct_clear' };

const ct = (value: number, mask: number): OxmField => oxm('ct_state', u32(value), u32(mask));
/** -rpl+trk: a packet in the original direction of its connection (new, or more of one already allowed). */
const ORIGINAL = ct(CT.TRK, CT.TRK | CT.RPL);
const INVALID = ct(CT.TRK | CT.INV, CT.TRK | CT.INV);
const REPLY = ct(CT.TRK | CT.EST | CT.RPL, CT.TRK | CT.EST | CT.RPL | CT.INV);
const RELATED = ct(CT.TRK | CT.REL, CT.TRK | CT.REL | CT.INV);

const ETH_IPV6 = oxm('eth_type', u16(ETH_TYPE.IPV6));
const ANY_IP = oxm('ipv4_src', u32(0));
const BROADCAST_IP = oxm('ipv4_dst', u32(0xffffffff));
const UDP = oxm('ip_proto', u8(IP_PROTO.UDP));
const PROTO: Record<Exclude<SecurityRule['protocol'], 'any'>, OxmField> = {
  tcp: oxm('ip_proto', u8(IP_PROTO.TCP)),
  udp: UDP,
  icmp: oxm('ip_proto', u8(IP_PROTO.ICMP)),
};

const reg1s = new Map<number, OxmField>();
function reg1(port: number): OxmField {
  let f = reg1s.get(port);
  if (!f) reg1s.set(port, (f = oxm('reg1', u32(port))));
  return f;
}

/** Whether the stage has anything to do on this node: a compute node of a cloud with security groups. */
const enforced = sgEnforced;

function nodeFlows(ctx: CompileContext, view: NodeView): readonly FlowMod[] {
  if (!enforced(ctx, view)) return NONE;
  const cookie = cookieFor('node', view.info.tunnelIp, 'sg');
  const out: FlowMod[] = [
    flow({ table: TABLE.PORT_SECURITY, priority: P1.IPV6, cookie, match: match(ETH_IPV6) }),
    flow({ table: TABLE.PORT_SECURITY, priority: P1.OTHER, cookie, match: [], goto: TABLE.EGRESS_OUT }),
    flow({ table: TABLE.EGRESS_OUT, priority: P3.MULTICAST, cookie, match: match(F.multicastDst), goto: TABLE.BROADCAST }),
    flow({ table: TABLE.EGRESS_OUT, priority: P3.UNICAST, cookie, match: [], goto: TABLE.UNICAST }),
    flow({ table: TABLE.INGRESS_CT, priority: P30.IPV4, cookie, match: match(F.ethTypeIp), actions: [CT_CLEAR, ctTo(TABLE.INGRESS_CT, TABLE.INGRESS_ACL)] }),
    flow({ table: TABLE.INGRESS_CT, priority: P30.OTHER, cookie, match: [], goto: TABLE.DELIVER }),
  ];
  for (const [table, next] of [
    [TABLE.EGRESS_ACL, TABLE.EGRESS_OUT],
    [TABLE.INGRESS_ACL, TABLE.DELIVER],
  ] as const) {
    const P = PRIORITY[table];
    out.push(
      flow({ table, priority: P.INVALID, cookie, match: match(INVALID) }),
      flow({ table, priority: P.REPLY, cookie, match: match(REPLY), goto: next }),
      flow({ table, priority: P.REPLY, cookie, match: match(RELATED), goto: next }),
    );
  }
  for (const f of ruleFlows(ctx, view)) out.push(f);
  return out;
}

function vmFlows(ctx: CompileContext, view: NodeView, vm: VmInfo): readonly FlowMod[] {
  if (vm.host !== view.info || !enforced(ctx, view)) return NONE;
  const port = view.ports.get(vm.vm.port);
  if (port === undefined) return NONE;
  const cookie = cookieFor('vm', vm.cookieId, 'sg');
  const p = inPort(port);
  const own = oxm('ipv4_src', vm.ipBytes);
  const gateway = oxm('ipv4_dst', vm.subnet.gatewayIpBytes);
  const toEgress = TABLE.EGRESS_OUT;
  const dhcp = (...fields: OxmField[]): FlowMod =>
    flow({ table: TABLE.PORT_SECURITY, priority: P1.DHCP_CLIENT, cookie, match: match(p, ...fields, F.dhcpClientSrc, F.dhcpServerDst), goto: toEgress });
  return [
    flow({ table: TABLE.CLASSIFY, priority: P0.SPOOFED_MAC, cookie, match: match(p) }),
    // DHCP client traffic, never filtered: DISCOVER/REQUEST (0.0.0.0 -> broadcast), renewals (own IP -> the server,
    // which is the subnet's gateway IP) and rebinding (own IP -> broadcast).
    dhcp(F.ethTypeIp, F.ipProtoUdp, ANY_IP, BROADCAST_IP),
    dhcp(F.ethTypeIp, F.ipProtoUdp, own, BROADCAST_IP),
    dhcp(F.ethTypeIp, F.ipProtoUdp, own, gateway),
    flow({ table: TABLE.PORT_SECURITY, priority: P1.OWN_ADDRESS, cookie, match: match(p, F.ethTypeIp, own), actions: [ctTo(TABLE.PORT_SECURITY, TABLE.EGRESS_ACL)] }),
    flow({
      table: TABLE.PORT_SECURITY,
      priority: P1.OWN_ADDRESS,
      cookie,
      match: match(p, F.ethTypeArp, oxm('arp_spa', vm.ipBytes), oxm('arp_sha', vm.mac)),
      goto: toEgress,
    }),
    flow({ table: TABLE.PORT_SECURITY, priority: P1.OWN_ADDRESS, cookie, match: match(p, F.ethTypeArp, F.arpSpaZero, oxm('arp_sha', vm.mac)), goto: toEgress }),
    flow({ table: TABLE.PORT_SECURITY, priority: P1.SPOOFED, cookie, match: match(p, F.ethTypeIp) }),
    flow({ table: TABLE.PORT_SECURITY, priority: P1.SPOOFED, cookie, match: match(p, F.ethTypeArp) }),
    flow({ table: TABLE.EGRESS_ACL, priority: P2.DENIED, cookie, match: match(reg1(port)) }),
    flow({
      table: TABLE.INGRESS_ACL,
      priority: P31.DHCP_REPLY,
      cookie,
      match: match(reg1(port), F.ethTypeIp, F.ipProtoUdp, oxm('ipv4_src', vm.subnet.gatewayIpBytes), F.dhcpServerSrc, F.dhcpClientDst),
      goto: TABLE.DELIVER,
    }),
    flow({ table: TABLE.INGRESS_ACL, priority: P31.DENIED, cookie, match: match(reg1(port)) }),
    flow({ table: TABLE.DELIVER, priority: P32.VM, cookie, match: match(reg1(port)), actions: [output(port)] }),
  ];
}

interface RuleUse {
  readonly rule: SecurityRule;
  readonly group: GroupInfo<VmInfo>;
  /** reg1 values: the local VMs of the rule's group. */
  readonly ports: number[];
  /** reg2: their routing domain (a group and its members are of one project). */
  readonly domain: Uint8Array;
}

/** Every rule row on the node: plain rows first (by rule id), then conjunctions, duplicates merged. */
function ruleFlows(ctx: CompileContext, view: NodeView): FlowMod[] {
  const sg = ctx.index.sg!;
  const uses = new Map<number, RuleUse>();
  for (const perSubnet of ctx.index.localVms.get(view.node.name)?.values() ?? []) {
    for (const vm of perSubnet) {
      const port = view.ports.get(vm.vm.port);
      if (port === undefined) continue;
      for (const g of sg.vmGroups.get(vm.vm.name) ?? []) {
        for (const rule of g.group.rules) {
          let u = uses.get(rule.id);
          if (!u) uses.set(rule.id, (u = { rule, group: g, ports: [], domain: vm.subnet.domainBytes }));
          u.ports.push(port);
        }
      }
    }
  }
  const plain: FlowMod[] = [];
  const clauses = new Map<string, FlowMod>();
  const conj: FlowMod[] = [];
  for (const id of [...uses.keys()].sort((a, b) => a - b)) {
    const u = uses.get(id)!;
    u.ports.sort((a, b) => a - b);
    compileRule(ctx, u, plain, clauses, conj);
  }
  const seen = new Set<string>();
  const out: FlowMod[] = [];
  for (const f of plain) {
    const k = flowKey(f);
    if (seen.has(k)) continue; // two rules (or groups) allowing the same: one row
    seen.add(k);
    out.push(f);
  }
  return [...out, ...clauses.values(), ...conj];
}

function compileRule(ctx: CompileContext, u: RuleUse, plain: FlowMod[], clauses: Map<string, FlowMod>, conj: FlowMod[]): void {
  const { rule } = u;
  const ingress = rule.direction === 'ingress';
  const table = ingress ? TABLE.INGRESS_ACL : TABLE.EGRESS_ACL;
  const next = ingress ? TABLE.DELIVER : TABLE.EGRESS_OUT;
  const P = ingress ? P31 : P2;
  const cookie = cookieForRule(u.group.group.id, rule.id);
  const remoteField = ingress ? 'ipv4_src' : 'ipv4_dst';

  // The dimensions: each a list of alternative fields (undefined = no field: matches anything).
  const vms = u.ports.map(reg1);
  let remotes: (OxmField | undefined)[];
  if (rule.remoteGroup !== undefined) {
    const members = ctx.index.sg!.groups.get(rule.remoteGroup)?.members ?? [];
    if (!members.length) return; // an empty remote group allows nothing
    remotes = members.map((m) => oxm(remoteField, m.ipBytes));
  } else {
    const c = cidrMatch(rule.remoteCidr!);
    remotes = [c.mask === 0 ? undefined : c.mask === 0xffffffff ? oxm(remoteField, u32(c.network)) : oxm(remoteField, u32(c.network), u32(c.mask))];
  }
  let ports: (OxmField | undefined)[] = [undefined];
  if (rule.portMin !== undefined && (rule.protocol === 'tcp' || rule.protocol === 'udp')) {
    const field = rule.protocol === 'tcp' ? 'tcp_dst' : 'udp_dst';
    ports = portMasks(rule.portMin, rule.portMax!).map((m) => (m.mask === 0xffff ? oxm(field, u16(m.value)) : oxm(field, u16(m.value), u16(m.mask))));
  }
  // reg2 in every row and clause: a clause naming remote addresses (no reg1 in it) only ever matches its own project's packets.
  const base = [inDomain(u.domain), ORIGINAL, F.ethTypeIp, ...(rule.protocol === 'any' ? [] : [PROTO[rule.protocol]])];
  // An ICMP type/code is one value each: part of every row (or clause), never a dimension of its own.
  if (rule.protocol === 'icmp' && rule.icmpType !== undefined) {
    base.push(oxm('icmp_type', u8(rule.icmpType)));
    if (rule.icmpCode !== undefined) base.push(oxm('icmp_code', u8(rule.icmpCode)));
  }
  const allow = { actions: [CT_COMMIT], goto: next };

  const dims = [vms, remotes, ports];
  const multi = dims.filter((d) => d.length > 1);
  const product = dims.reduce((n, d) => n * d.length, 1);
  const sum = multi.reduce((n, d) => n + d.length, 0);
  if (multi.length < 2 || product <= sum + 1) {
    for (const v of vms) {
      for (const r of remotes) {
        for (const p of ports) {
          plain.push(flow({ table, priority: P.RULE, cookie, match: match(...base, v, ...opt(r), ...opt(p)), ...allow }));
        }
      }
    }
    return;
  }
  // Conjunction: the single-valued dimensions are folded into every clause row.
  const single = dims.filter((d) => d.length === 1).flatMap((d) => opt(d[0]));
  multi.forEach((dim, k) => {
    for (const value of dim) {
      const m = match(...base, ...single, ...opt(value));
      const action: Action = { type: 'nx_conjunction', id: rule.id, clause: k, nClauses: multi.length };
      const f = flow({ table, priority: P.RULE_CONJ, cookie, match: m, actions: [action] });
      const key = flowKey(f);
      const same = clauses.get(key);
      // Two rules with an identical clause row share it: one flow, one conjunction action per rule.
      clauses.set(key, same ? { ...same, instructions: [{ type: 'apply_actions', actions: [...actionsOf(same), action] }] } : f);
    }
  });
  // ct needs the IPv4 prerequisite in the match even here.
  conj.push(flow({ table, priority: P.RULE_CONJ, cookie, match: match(oxm('conj_id', u32(rule.id)), F.ethTypeIp), ...allow }));
}

const opt = (f: OxmField | undefined): OxmField[] => (f ? [f] : []);

function actionsOf(f: FlowMod): readonly Action[] {
  const i = f.instructions[0];
  return i && i.type === 'apply_actions' ? i.actions : [];
}

export const securityGroupStage: Stage = {
  name: 'sg',
  applies: (n) => hasRole(n, 'compute'),
  node: nodeFlows,
  vm: vmFlows,
};
