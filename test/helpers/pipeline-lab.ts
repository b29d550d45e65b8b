// A real-OVS bench for the pipeline: one OVS instance (in its own namespace) holding one br0-like bridge per node of
// a cloud, each set up as its role (netdev, OpenFlow13, fail_mode=secure, VM ports as internal ports, vxlan-int,
// vxlan-sw, the switch's per-host ports), the compiled flows installed with `ovs-ofctl --bundle add-flows`, and
// `ofproto/trace` to follow packets. Port numbers are learned from OVS, never assumed.
//
// One instance keeps the suite fast, but interface names are per instance, so each bridge's tunnel ports get the
// node name as a prefix ('compute-1-vxi'); the PortMap handed to the compiler maps the model's names
// ('vxlan-int') to their ofports, as the controller does from a real node's port list.
//
// Native (userspace) tunnelling needs a route and a neighbour for every remote: a 'br-phy' bridge holds every node's
// tunnel IP, with static neighbours and one underlay port ('phy0') that the encapsulated copies go to.
import type { FlowMod } from '../../src/openflow/types.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { indexCloud, type CloudIndex } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { DHCP_METER_TEXT } from '../../src/pipeline/dhcp-punt.js';
import type { BroadcastMode, DhcpMode } from '../../src/pipeline/modes.js';
import { PATH_MTU_METER_TEXT } from '../../src/pipeline/mtu.js';
import type { PortMap } from '../../src/pipeline/stage.js';
import {
  hasRole,
  isBroadcastMember,
  isOverlayEndpoint,
  PORT_VXLAN_INT,
  PORT_VXLAN_SW,
  switchPortName,
  tunnelIp,
  type Cloud,
} from '../../src/topology/model.js';
import { loadFormatFlow } from './flow-format.js';
import { parseDpifShow, parseTrace, type Trace } from './trace.js';

export interface PipelineLab {
  readonly ovs: OvsInstance;
  readonly index: CloudIndex;
  readonly ports: ReadonlyMap<string, PortMap>;
  readonly flows: ReadonlyMap<string, readonly FlowMod[]>;
  /** ofproto/trace on a node's bridge. Port names in `flow` are the lab's (VM ports keep their model names). */
  /** `frameSize`: the frame length the path-MTU check (check_pkt_len) should assume; default small. */
  /** `ctNext`: the ct_state each conntrack pass resumes with, in order (`--ct-next`; default trk,new). */
  trace(node: string, flow: string, frameSize?: number, ctNext?: readonly string[]): Promise<Trace>;
  /** The lab name of a node's vxlan-int / vxlan-sw port, for trace flows. */
  vxlanInt(node: string): string;
  vxlanSw(node: string): string;
  stop(): Promise<void>;
}

export interface LabOptions {
  /** VM ports not to create (their VMs must get no local flows). */
  readonly missingPorts?: readonly string[];
  /** The data-plane modes to compile in (default: the pipeline's bare `node` and `switch-node`). */
  readonly modes?: { readonly dhcp?: DhcpMode; readonly broadcast?: BroadcastMode };
}

const labVxi = (node: string): string => `${node}-vxi`;
const labVxs = (node: string): string => `${node}-vxs`;

export async function startPipelineLab(name: string, cloud: Cloud, opts: LabOptions = {}): Promise<PipelineLab> {
  const index = indexCloud(cloud);
  const ovs = await OvsInstance.start({ name });
  try {
    await underlay(ovs, cloud);
    const switchIp = cloud.nodes.find((n) => hasRole(n, 'switch'));
    const bridged = cloud.nodes.filter((n) => isOverlayEndpoint(n) || hasRole(n, 'switch'));
    for (const node of bridged) {
      await ovs.addBridge(node.name, { protocols: ['OpenFlow13'] });
      const args: string[] = [];
      const vxlan = (port: string, remote: string): void => {
        args.push('--', 'add-port', node.name, port, '--', 'set', 'interface', port, 'type=vxlan');
        args.push(`options:local_ip=${tunnelIp(node)}`, `options:remote_ip=${remote}`, 'options:key=flow');
      };
      if (isOverlayEndpoint(node)) {
        vxlan(labVxi(node.name), 'flow');
        if (isBroadcastMember(node) && switchIp) vxlan(labVxs(node.name), tunnelIp(switchIp));
        for (const vm of cloud.vms.filter((v) => v.node === node.name && !opts.missingPorts?.includes(v.port))) {
          args.push('--', 'add-port', node.name, vm.port, '--', 'set', 'interface', vm.port, 'type=internal');
        }
      }
      if (hasRole(node, 'switch')) {
        for (const host of cloud.nodes.filter(isBroadcastMember)) vxlan(switchPortName(host.name), tunnelIp(host));
      }
      if (args.length) await ovs.vsctl(...args.slice(1));
    }

    const ofports = await learnOfports(ovs);
    const ports = new Map<string, PortMap>();
    for (const node of bridged) {
      const names = (await ovs.vsctl('list-ports', node.name)).split('\n').filter(Boolean);
      const map = new Map<string, number>();
      for (const n of names) {
        const model = n === labVxi(node.name) ? PORT_VXLAN_INT : n === labVxs(node.name) ? PORT_VXLAN_SW : n;
        const no = ofports.get(n);
        if (no !== undefined && no > 0) map.set(model, no);
      }
      ports.set(node.name, map);
    }

    const flows = compileCloud(index, ports, opts.modes);
    const format = await loadFormatFlow();
    for (const node of bridged) {
      const text = (flows.get(node.name) ?? []).map(format).join('\n') + '\n';
      // The path-MTU punt row names the meter: it must exist first (the runtime installs it before the bundle).
      await ovs.ofctl('-O', 'OpenFlow13', 'add-meter', node.name, PATH_MTU_METER_TEXT);
      await ovs.ofctl('-O', 'OpenFlow13', 'add-meter', node.name, DHCP_METER_TEXT);
      await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow13', '--bundle', 'add-flows', node.name, '-'], { input: text });
    }

    const dp = parseDpifShow(await ovs.appctl('dpif/show'));
    const dpPorts = new Map([...dp].map(([n, p]) => [p.dpPort, n] as const));
    const underlayPorts = new Set([dp.get('phy0')?.dpPort, dp.get('br-phy')?.dpPort].filter((p): p is number => p !== undefined));

    return {
      ovs,
      index,
      ports,
      flows,
      async trace(node, flow, frameSize, ctNext = []) {
        const raw = await ovs.appctl('ofproto/trace', node, flow, ...ctNext.flatMap((c) => ['--ct-next', c]));
        return parseTrace(raw, { dpPorts, underlay: underlayPorts, ...(frameSize !== undefined && { frameSize }) });
      },
      vxlanInt: labVxi,
      vxlanSw: labVxs,
      stop: () => ovs.stop(),
    };
  } catch (e) {
    await ovs.stop();
    throw e;
  }
}

async function underlay(ovs: OvsInstance, cloud: Cloud): Promise<void> {
  await ovs.addBridge('br-phy');
  await ovs.vsctl('add-port', 'br-phy', 'phy0', '--', 'set', 'interface', 'phy0', 'type=internal');
  const ips = [...new Set(cloud.nodes.map(tunnelIp))];
  for (const ip of ips) await ovs.exec('ip', ['addr', 'add', `${ip}/24`, 'dev', 'br-phy']);
  await ovs.exec('ip', ['link', 'set', 'br-phy', 'up']);
  for (const [i, ip] of ips.entries()) {
    await ovs.appctl('tnl/neigh/set', 'br-phy', ip, `aa:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`);
  }
  await ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br-phy', 'priority=0,actions=output:phy0');
}

async function learnOfports(ovs: OvsInstance): Promise<Map<string, number>> {
  const csv = await ovs.vsctl('-f', 'csv', '--no-headings', '--columns=name,ofport', 'list', 'Interface');
  const out = new Map<string, number>();
  for (const line of csv.split('\n').filter(Boolean)) {
    const [n, p] = line.split(',');
    out.set(n!.replace(/^"|"$/g, ''), Number(p));
  }
  return out;
}
