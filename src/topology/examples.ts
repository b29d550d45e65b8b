// Example clouds: the reference cloud of docs/pipeline.md and the lab tests, and synthetic clouds for benchmarks.
import { numberToIpv4, PORT_VXLAN_INT, PORT_VXLAN_SW, switchPortName, isBroadcastMember, hasRole, isOverlayEndpoint, type Cloud, type CloudNode, type SecurityRule, type Subnet, type Vm } from './model.js';

/**
 * The reference cloud: 2 compute nodes (two AZs), 1 gateway, 1 switch node (also the management node), 1 DHCP node,
 * 2 subnets, 4 VMs (one of each subnet on each compute node).
 */
export function referenceCloud(): Cloud {
  const nodes: CloudNode[] = [
    { name: 'compute-1', roles: ['compute'], underlayIp: '10.99.0.11', az: 'AZ-1' },
    { name: 'compute-2', roles: ['compute'], underlayIp: '10.99.0.12', az: 'AZ-2' },
    { name: 'gateway-1', roles: ['gateway'], underlayIp: '10.99.0.21', serviceIp: '10.99.0.21', az: 'AZ-1' },
    { name: 'switch', roles: ['switch', 'management'], underlayIp: '10.99.0.31' },
    { name: 'dhcp', roles: ['dhcp'], underlayIp: '10.99.0.41' },
  ];
  const subnets: Subnet[] = [
    { name: 'net-a', cidr: '192.168.20.0/27', gatewayIp: '192.168.20.1', vni: 100 },
    { name: 'net-b', cidr: '192.168.20.32/27', gatewayIp: '192.168.20.33', vni: 101 },
  ];
  const vm = (name: string, subnet: string, node: string, ip: string, mac: string, port: string): Vm => ({
    name,
    subnet,
    node,
    gateway: 'gateway-1',
    ip,
    mac,
    port,
  });
  const vms: Vm[] = [
    vm('vm-a1', 'net-a', 'compute-1', '192.168.20.10', '02:00:00:00:0a:01', 'tap-a1'),
    vm('vm-a2', 'net-a', 'compute-2', '192.168.20.11', '02:00:00:00:0a:02', 'tap-a2'),
    vm('vm-b1', 'net-b', 'compute-1', '192.168.20.40', '02:00:00:00:0b:01', 'tap-b1'),
    vm('vm-b2', 'net-b', 'compute-2', '192.168.20.41', '02:00:00:00:0b:02', 'tap-b2'),
  ];
  return { nodes, subnets, vms };
}

/**
 * Port numbers as a freshly bootstrapped node would have them: vxlan-int 1, vxlan-sw 2, then the node's VM ports in
 * name order; the switch node's host ports 1.. in host name order. Real nodes report theirs; this is for docs/tests.
 */
export function referencePorts(cloud: Cloud): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const node of cloud.nodes) {
    const ports = new Map<string, number>();
    let next = 1;
    if (hasRole(node, 'switch')) {
      for (const host of cloud.nodes.filter(isBroadcastMember).map((n) => n.name).sort()) ports.set(switchPortName(host), next++);
    }
    if (isOverlayEndpoint(node)) {
      ports.set(PORT_VXLAN_INT, next++);
      if (isBroadcastMember(node)) ports.set(PORT_VXLAN_SW, next++);
      for (const v of cloud.vms.filter((v) => v.node === node.name).sort((a, b) => (a.name < b.name ? -1 : 1))) ports.set(v.port, next++);
    }
    out.set(node.name, ports);
  }
  return out;
}

export interface SyntheticOptions {
  readonly computeNodes: number;
  readonly vms: number;
  readonly gateways?: number;
  /** VMs per subnet (a /27 holds 29 besides the gateway). */
  readonly vmsPerSubnet?: number;
}

/** A large deterministic cloud for benchmarks: subnets carved from 10.128.0.0/9, VMs spread over the nodes. */
export function syntheticCloud(opts: SyntheticOptions): Cloud {
  const gateways = opts.gateways ?? 2;
  const perSubnet = opts.vmsPerSubnet ?? 29;
  const nodes: CloudNode[] = [];
  for (let i = 0; i < opts.computeNodes; i++) nodes.push({ name: `c${i}`, roles: ['compute'], underlayIp: numberToIpv4(0x0a630000 + 100 + i), az: `AZ-${i % 3}` });
  for (let i = 0; i < gateways; i++) nodes.push({ name: `gw${i}`, roles: ['gateway'], underlayIp: numberToIpv4(0x0a630000 + 10 + i) });
  nodes.push({ name: 'switch', roles: ['switch', 'management'], underlayIp: '10.99.0.2' });
  nodes.push({ name: 'dhcp', roles: ['dhcp'], underlayIp: '10.99.0.3' });
  const subnets: Subnet[] = [];
  const vms: Vm[] = [];
  const nSubnets = Math.ceil(opts.vms / perSubnet);
  for (let s = 0; s < nSubnets; s++) {
    const base = 0x0a800000 + s * 32;
    subnets.push({ name: `s${s}`, cidr: `${numberToIpv4(base)}/27`, gatewayIp: numberToIpv4(base + 1), vni: 1000 + s });
    for (let j = 0; j < perSubnet && vms.length < opts.vms; j++) {
      const n = vms.length;
      const node = (s * 7 + j * 13) % opts.computeNodes;
      vms.push({
        name: `vm${n}`,
        subnet: `s${s}`,
        node: `c${node}`,
        gateway: `gw${n % gateways}`,
        ip: numberToIpv4(base + 2 + j),
        mac: `02:00:${[(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 1].map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
        port: `tap${n}`,
      });
    }
  }
  return { nodes, subnets, vms };
}

/**
 * The reference cloud with security groups (docs/pipeline.md, the security-group trace tests): `default` as the
 * store makes it; `web` (vm-a1, vm-a2, vm-b2) takes HTTP from anywhere and 8000-8010 from its own members; `db`
 * (vm-b1) takes 5432 from web only, and ICMP echo requests (8/0, nothing else of ICMP) from anywhere. vm-b2 is also in
 * default.
 */
export function referenceCloudWithGroups(): Cloud {
  const cloud = referenceCloud();
  const groups: Record<string, readonly string[]> = { 'vm-a1': ['web'], 'vm-a2': ['web'], 'vm-b1': ['db'], 'vm-b2': ['default', 'web'] };
  return {
    ...cloud,
    vms: cloud.vms.map((v) => ({ ...v, securityGroups: groups[v.name]! })),
    securityGroups: [
      {
        id: 1,
        name: 'default',
        rules: [
          { id: 1, direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
          { id: 2, direction: 'ingress', protocol: 'any', remoteGroup: 'default' },
        ],
      },
      {
        id: 2,
        name: 'web',
        rules: [
          { id: 3, direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
          { id: 4, direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteCidr: '0.0.0.0/0' },
          { id: 5, direction: 'ingress', protocol: 'tcp', portMin: 8000, portMax: 8010, remoteGroup: 'web' },
          { id: 6, direction: 'ingress', protocol: 'icmp', remoteCidr: '192.168.20.0/24' },
        ],
      },
      {
        id: 3,
        name: 'db',
        rules: [
          { id: 7, direction: 'egress', protocol: 'udp', portMin: 53, portMax: 53, remoteCidr: '0.0.0.0/0' },
          { id: 8, direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' },
          { id: 9, direction: 'ingress', protocol: 'icmp', icmpType: 8, icmpCode: 0, remoteCidr: '0.0.0.0/0' },
        ],
      },
    ],
  };
}

export interface SyntheticGroupOptions {
  /** Members per group: VMs are put into groups of this many, in name order. */
  readonly members: number;
  /** Rules per group: one egress-any rule, the rest ingress tcp port ranges (10 ports each) from the group itself. */
  readonly rules: number;
}

/** A cloud's VMs in groups of `members`, each group with `rules` rules (benchmarks: flows per VM for N members, R rules). */
export function withSyntheticGroups(cloud: Cloud, opts: SyntheticGroupOptions): Cloud {
  const sorted = [...cloud.vms].sort((a, b) => (a.name < b.name ? -1 : 1));
  const nGroups = Math.ceil(sorted.length / opts.members);
  let ruleId = 1;
  const securityGroups = Array.from({ length: nGroups }, (_, g) => {
    const name = `g${g}`;
    const rules: SecurityRule[] = [{ id: ruleId++, direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' }];
    for (let r = 1; r < opts.rules; r++) {
      // 10 ports from a multiple of 16 (5 port blocks), different for each group (nothing shared between groups).
      const from = 16 * (128 * r + (g % 128)) + 1;
      rules.push({ id: ruleId++, direction: 'ingress', protocol: 'tcp', portMin: from, portMax: from + 9, remoteGroup: name });
    }
    return { id: g + 1, name, rules };
  });
  const groupOf = new Map(sorted.map((v, i) => [v.name, `g${Math.floor(i / opts.members)}`] as const));
  return { ...cloud, vms: cloud.vms.map((v) => ({ ...v, securityGroups: [groupOf.get(v.name)!] })), securityGroups };
}
