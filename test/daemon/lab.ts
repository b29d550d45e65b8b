// Lab nodes for the controller's end-to-end test: one OVS instance per node, each in its own network namespace
// (src/lab/ovs.ts), with br0 set up as bootstrap would (netdev, OpenFlow13, fail_mode=secure, the node's derived
// datapath id, the seed's tunnel ports per role) and pointed at the controller's unix socket through a symlink.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resolveConfig } from '../../src/daemon/config.js';
import { dpidTextForNode } from '../../src/daemon/node-pipelines.js';
import { startServer, type Server } from '../../src/daemon/server.js';
import { callApi } from '../../src/lab/cloud.js';
import { cleanupLab } from '../../src/lab/lab.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { DHCP_METER_TEXT } from '../../src/pipeline/dhcp-punt.js';
import { PATH_MTU_METER_TEXT } from '../../src/pipeline/mtu.js';
import { hasRole, isBroadcastMember, isOverlayEndpoint, PORT_VXLAN_INT, PORT_VXLAN_SW, switchPortName, tunnelIp, type CloudNode } from '../../src/topology/model.js';

/** The namespace of VM `name` in a lab started with `prefix` (the netns backend's `vms.netnsPrefix`). */
export const vmNetns = (prefix: string, name: string): string => `${prefix}v-${name}`;

export interface LabController {
  readonly server: Server;
  /** Each node's OVS instance, by node name. */
  readonly nodes: ReadonlyMap<string, OvsInstance>;
  /** Stops the server and the nodes, removes the prefix's namespaces and the temp dir. */
  stop(): Promise<void>;
}

/**
 * The real server in-process (SQLite store in a temp dir, OpenFlow on a unix socket, API with auth on a loopback
 * port, netns VMs named `<prefix>v-<vm>` on the compute nodes) and one lab OVS per node, the nodes added through the
 * API first so that each switch connects with its node's derived datapath id. Leftovers of `prefix` are removed.
 */
export async function startLabController(prefix: string, nodes: readonly { readonly name: string; readonly roles: readonly string[] }[]): Promise<LabController> {
  await cleanupLab(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const socket = join(dir, 'openflow.sock');
  const labDir = join(dir, 'lab');
  const ovs = new Map<string, OvsInstance>();
  let server: Server | undefined;
  const stop = async (): Promise<void> => {
    await server?.stop();
    await Promise.all([...ovs.values()].map((o) => o.stop()));
    await cleanupLab(prefix);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const config = resolveConfig({
      openflow: { listen: [`unix:${socket}`], echoIntervalSeconds: 1 },
      api: { host: '127.0.0.1', port: 0, auth: true },
      store: { path: join(dir, 'cloud.db') },
      stats: { intervalSeconds: 60 },
      vms: {
        backend: 'netns',
        nodes: Object.fromEntries(nodes.filter((n) => !n.roles.includes('compute')).map((n) => [n.name, 'none'])),
        labDir,
        stateDir: join(dir, 'vms'),
        netnsPrefix: vmNetns(prefix, ''),
      },
      log: { level: 'warn' },
    });
    server = await startServer(config, { logger: pino({ level: 'warn' }), onNewToken: () => undefined });
    for (const n of nodes) {
      const res = await callApi(server, 'POST', '/api/v1/nodes', n);
      if (res.status !== 201) throw new Error(`adding node ${n.name}: ${res.status} ${JSON.stringify(res.json)}`);
    }
    const cloudNodes = server.service.cloud().nodes as CloudNode[];
    await Promise.all(cloudNodes.map(async (n) => ovs.set(n.name, await startLabNode(n, cloudNodes, labDir, socket))));
    return { server, nodes: ovs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function startLabNode(node: CloudNode, all: readonly CloudNode[], baseDir: string, controllerSocket: string): Promise<OvsInstance> {
  const ovs = await OvsInstance.start({ name: node.name, baseDir });
  try {
    await ovs.addBridge('br0', { protocols: ['OpenFlow13'], datapathId: dpidTextForNode(node.name) });
    const args: string[] = [];
    const vxlan = (port: string, remote: string): void => {
      args.push('--', 'add-port', 'br0', port, '--', 'set', 'interface', port, 'type=vxlan');
      args.push(`options:local_ip=${tunnelIp(node)}`, `options:remote_ip=${remote}`, 'options:key=flow');
    };
    const sw = all.find((n) => hasRole(n, 'switch'));
    if (isOverlayEndpoint(node)) {
      vxlan(PORT_VXLAN_INT, 'flow');
      if (isBroadcastMember(node) && sw) vxlan(PORT_VXLAN_SW, tunnelIp(sw));
    }
    if (hasRole(node, 'switch')) for (const h of all.filter(isBroadcastMember)) vxlan(switchPortName(h.name), tunnelIp(h));
    if (args.length) await ovs.vsctl(...args.slice(1));
    await ovs.setUnixController('br0', controllerSocket);
    // Reconnect quickly after a restart or a lost connection (OVS's default backoff grows to 8 s).
    await ovs.vsctl('set', 'controller', 'br0', 'max_backoff=1000');
    return ovs;
  } catch (e) {
    await ovs.stop();
    throw e;
  }
}

/** `dump-flows` without counters or port names, one flow per line, sorted. */
export async function dumpFlows(ovs: OvsInstance, bridge: string): Promise<string[]> {
  const out = await ovs.ofctl('-O', 'OpenFlow13', '--no-stats', '--no-names', 'dump-flows', bridge);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('OFPST_FLOW') && !l.startsWith('NXST_FLOW'))
    .sort();
}

/**
 * The given flows (ovs-ofctl text) as this node's OVS shows them: installed into a scratch bridge without a controller
 * and dumped, so both sides of a comparison went through OVS's own canonical printing.
 */
export async function canonicalFlows(ovs: OvsInstance, flows: readonly string[]): Promise<string[]> {
  await ovs.vsctl('--may-exist', 'add-br', 'cmp0', '--', 'set', 'bridge', 'cmp0', 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13');
  await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'cmp0');
  await ovs.ofctl('-O', 'OpenFlow13', 'del-meters', 'cmp0');
  await ovs.ofctl('-O', 'OpenFlow13', 'add-meter', 'cmp0', PATH_MTU_METER_TEXT);
  await ovs.ofctl('-O', 'OpenFlow13', 'add-meter', 'cmp0', DHCP_METER_TEXT);
  await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow13', '--bundle', 'add-flows', 'cmp0', '-'], { input: flows.join('\n') + '\n' });
  return dumpFlows(ovs, 'cmp0');
}
