// The node's OVS side: daemons up, br0 as the controller expects it, the seed's tunnel ports per role, br-phy.
// Each step reads first and changes only what differs, returning what it changed.
import { BFD_TUNNEL_KEY, bfdPortName, PORT_VXLAN_INT, PORT_VXLAN_SW, switchPortName } from '../../topology/model.js';
import { ExecError, ExecTimeoutError, type Executor } from '../executor.js';
import { findRows, listPorts, listRows, mapArgs, optionalString, quoteOvsAtom, sameMap, stringMap, stringSet, vsctl } from '../ovsdb.js';
import { ValidationError } from '../validate.js';
import { linkMac } from './ip.js';
import { ensureSsl } from './ssl.js';
import {
  bridgeMacOf,
  bridgeOf,
  controllersOf,
  DEFAULT_UNDERLAY_BRIDGE,
  hasRole,
  type NodeBootstrapSpec,
} from './spec.js';

/** Marks what we created, so removal and reconciliation touch nothing else. */
export const OWNER_KEY = 'minicloud';

interface TunnelPort {
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
  /** The interface's `bfd` column (empty: BFD off). */
  readonly bfd?: Readonly<Record<string, string>>;
}

/** The VXLAN ports a node's roles call for (seed, "Bridge design"). */
export function tunnelPortsFor(spec: NodeBootstrapSpec): TunnelPort[] {
  const ports: TunnelPort[] = [];
  const endpoint = hasRole(spec, 'compute') || hasRole(spec, 'gateway') || hasRole(spec, 'dhcp');
  if (endpoint) ports.push({ name: PORT_VXLAN_INT, options: { local_ip: spec.tunnelIp, remote_ip: 'flow', key: 'flow' } });
  if ((hasRole(spec, 'compute') || hasRole(spec, 'dhcp')) && spec.switchIp !== undefined) {
    ports.push({ name: PORT_VXLAN_SW, options: { remote_ip: spec.switchIp, key: 'flow' } });
  }
  if (endpoint && spec.bfd) {
    const interval = String(spec.bfd.intervalMs);
    for (const ip of spec.bfd.peers) {
      ports.push({
        name: bfdPortName(ip),
        options: { local_ip: spec.tunnelIp, remote_ip: ip, key: String(BFD_TUNNEL_KEY) },
        bfd: { enable: 'true', min_rx: interval, min_tx: interval },
      });
    }
  }
  if (hasRole(spec, 'switch')) {
    for (const peer of spec.switchPeers ?? []) {
      ports.push({ name: switchPortName(peer.name), options: { local_ip: spec.tunnelIp, remote_ip: peer.ip, key: 'flow' } });
    }
  }
  return ports;
}

/**
 * ovsdb-server must answer and ovs-vswitchd must have started (it fills in `datapath_types`). A vswitchd that died
 * later makes the first change fail within ovs-vsctl's --timeout, with that error.
 */
export async function checkOvsRunning(exec: Executor): Promise<void> {
  const rows = await listRows(exec, 'Open_vSwitch', ['datapath_types']).catch((e: Error) => {
    if (!ranOnNode(e)) throw e; // the executor never reached the node (SSH): that is the news, not OVS
    throw new Error(`[${exec.target}] Open vSwitch is not running or not installed (ovs-vsctl failed): ${e.message}`);
  });
  if (stringSet(rows[0]?.['datapath_types']).length === 0) throw new Error(`[${exec.target}] ovs-vswitchd is not running (it never filled in datapath_types)`);
}

/** ovs-vsctl ran on the node and failed, timed out, or was not there to run (a local spawn's ENOENT). */
function ranOnNode(e: Error): boolean {
  return e instanceof ExecError || e instanceof ExecTimeoutError || (e as NodeJS.ErrnoException).code === 'ENOENT';
}

export async function resolveDatapathType(exec: Executor, spec: NodeBootstrapSpec): Promise<'system' | 'netdev'> {
  if (spec.datapathType && spec.datapathType !== 'auto') return spec.datapathType;
  const r = await exec.run(['test', '-d', '/sys/module/openvswitch'], { okCodes: [0, 1] });
  return r.code === 0 ? 'system' : 'netdev';
}

interface BridgeWanted {
  readonly name: string;
  readonly datapathType: string;
  readonly failMode?: string;
  readonly protocols?: readonly string[];
  readonly hwaddr?: string;
  readonly datapathId?: string;
  readonly role: string;
}

/** Creates the bridge or corrects the columns we own; leaves everything else alone. */
export async function ensureBridge(exec: Executor, want: BridgeWanted): Promise<string[]> {
  const rows = await listRows(exec, 'Bridge', ['name', 'datapath_type', 'fail_mode', 'protocols', 'other_config', 'external_ids']);
  const row = rows.find((r) => r['name'] === want.name);
  const set: string[] = [];
  if (!row || optionalString(row['datapath_type']) !== want.datapathType) set.push(`datapath_type=${want.datapathType}`);
  if (want.failMode && (!row || optionalString(row['fail_mode']) !== want.failMode)) set.push(`fail_mode=${want.failMode}`);
  if (want.protocols && (!row || stringSet(row['protocols']).join(',') !== want.protocols.join(','))) set.push(`protocols=${want.protocols.join(',')}`);
  const other = stringMap(row?.['other_config']);
  if (want.hwaddr && other['hwaddr'] !== want.hwaddr) set.push(...mapArgs('other_config', { hwaddr: want.hwaddr }));
  if (want.datapathId && other['datapath-id'] !== want.datapathId) set.push(...mapArgs('other_config', { 'datapath-id': want.datapathId }));
  if (stringMap(row?.['external_ids'])[OWNER_KEY] !== want.role) set.push(...mapArgs('external_ids', { [OWNER_KEY]: want.role }));
  if (set.length === 0) return [];
  await vsctl(exec, ['--may-exist', 'add-br', want.name, '--', 'set', 'bridge', want.name, ...set]);
  return [row ? `bridge ${want.name}: set ${set.join(' ')}` : `bridge ${want.name}: created (${set.join(' ')})`];
}

export interface ControllerWanted {
  readonly targets: readonly string[];
  /** The rows' `max_backoff`, ms; undefined leaves whatever they hold. */
  readonly maxBackoffMs?: number;
}

interface ControllerRow {
  readonly uuid: string;
  readonly target: string;
  readonly maxBackoffMs?: number;
}

async function controllersOfBridge(exec: Executor, bridge: string): Promise<ControllerRow[]> {
  const [row] = await findRows(exec, 'Bridge', ['controller'], `name=${bridge}`);
  const uuids = new Set(stringSet(row?.['controller']));
  if (uuids.size === 0) return [];
  const rows = await listRows(exec, 'Controller', ['_uuid', 'target', 'max_backoff']);
  return rows
    .filter((r) => uuids.has(String(r['_uuid'])))
    .map((r) => {
      const backoff = optionalString(r['max_backoff']);
      return { uuid: String(r['_uuid']), target: String(r['target']), ...(backoff !== undefined && { maxBackoffMs: Number(backoff) }) };
    });
}

/**
 * Gives the bridge exactly these controller targets, each with `max_backoff` when one is wanted, in one ovs-vsctl
 * transaction. Rows whose targets are already right are only updated (recreating them would drop the connection).
 */
export async function ensureController(exec: Executor, bridge: string, want: ControllerWanted): Promise<string[]> {
  const current = await controllersOfBridge(exec, bridge);
  const ms = want.maxBackoffMs;
  const backoffArgs = ms === undefined ? [] : [`max_backoff=${ms}`];
  const sameTargets = current.map((c) => c.target).sort().join(' ') === [...want.targets].sort().join(' ');
  if (!sameTargets) {
    // What set-controller does (the old rows are garbage: nothing else refers to them), with max_backoff on the rows.
    const create = want.targets.flatMap((t, i) => ['--', `--id=@c${i}`, 'create', 'Controller', `target=${quoteOvsAtom(t)}`, ...backoffArgs]);
    await vsctl(exec, [...create.slice(1), '--', 'set', 'bridge', bridge, `controller=${want.targets.map((_, i) => `@c${i}`).join(',')}`]);
    return [`bridge ${bridge}: controller ${want.targets.join(' ')}${ms === undefined ? '' : ` max_backoff=${ms}`}`];
  }
  const stale = ms === undefined ? [] : current.filter((c) => c.maxBackoffMs !== ms);
  if (stale.length === 0) return [];
  await vsctl(exec, stale.flatMap((c) => ['--', 'set', 'controller', c.uuid, ...backoffArgs]).slice(1));
  return [`bridge ${bridge}: controller max_backoff=${ms}`];
}

/** Adds, corrects or removes our tunnel ports on the bridge so exactly the wanted ones exist. */
export async function ensureTunnelPorts(exec: Executor, bridge: string, wanted: readonly TunnelPort[]): Promise<string[]> {
  const interfaces = await listRows(exec, 'Interface', ['name', 'type', 'options', 'bfd', 'external_ids']);
  const onBridge = new Set(await listPorts(exec, bridge));
  const changes: string[] = [];
  for (const port of wanted) {
    const row = interfaces.find((r) => r['name'] === port.name);
    const ok =
      row &&
      onBridge.has(port.name) &&
      optionalString(row['type']) === 'vxlan' &&
      sameMap(stringMap(row['options']), port.options) &&
      sameMap(stringMap(row['bfd']), port.bfd ?? {}) &&
      stringMap(row['external_ids'])[OWNER_KEY] === 'tunnel';
    if (ok) continue;
    await vsctl(exec, [
      '--if-exists', 'del-port', port.name,
      '--', 'add-port', bridge, port.name,
      '--', 'set', 'interface', port.name, 'type=vxlan', ...mapArgs('options', port.options), ...mapArgs('bfd', port.bfd ?? {}), ...mapArgs('external_ids', { [OWNER_KEY]: 'tunnel' }),
    ]);
    changes.push(`port ${port.name}: ${row ? 'replaced' : 'added'} (${Object.entries(port.options).map(([k, v]) => `${k}=${v}`).join(' ')})`);
  }
  const names = new Set(wanted.map((p) => p.name));
  for (const row of interfaces) {
    const name = String(row['name']);
    if (onBridge.has(name) && !names.has(name) && stringMap(row['external_ids'])[OWNER_KEY] === 'tunnel') {
      await vsctl(exec, ['--if-exists', 'del-port', bridge, name]);
      changes.push(`port ${name}: removed`);
    }
  }
  return changes;
}

/**
 * br-phy with the underlay NIC as its port (the address goes on it in ip.ts) and the NIC's MAC as its own, as OVS's
 * userspace-tunnelling guide sets it up. Left to itself OVS gives a new bridge a MAC of its own choosing when the
 * NIC's is locally administered (a veth's, a VM's NIC): every re-created br-phy then answers ARP with a new MAC,
 * and the other nodes' tunnel neighbour caches keep sending the VXLAN packets to the old one.
 */
export async function ensureUnderlayBridge(exec: Executor, spec: NodeBootstrapSpec, datapathType: string): Promise<string[]> {
  if (!spec.underlay) return [];
  const name = spec.underlay.bridge ?? DEFAULT_UNDERLAY_BRIDGE;
  const hwaddr = await linkMac(exec, spec.underlay.device);
  const changes = await ensureBridge(exec, { name, datapathType, role: 'underlay', hwaddr });
  if (!(await listPorts(exec, name)).includes(spec.underlay.device)) {
    await vsctl(exec, ['--may-exist', 'add-port', name, spec.underlay.device]);
    changes.push(`bridge ${name}: port ${spec.underlay.device} added`);
  }
  return changes;
}

/** The interface's `mtu_request` (OVS sets the MTU itself, and keeps it: an internal port would follow its bridge's). */
export async function ensureInterfaceMtu(exec: Executor, iface: string, mtu: number): Promise<string[]> {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new ValidationError('overlayMtu', mtu, 'an integer MTU from 68 to 65535');
  const [row] = await findRows(exec, 'Interface', ['mtu_request'], `name=${iface}`);
  const now = row?.['mtu_request'];
  if (now === mtu) return [];
  await vsctl(exec, ['set', 'interface', iface, `mtu_request=${mtu}`]);
  return [`interface ${iface}: mtu_request=${mtu}`];
}

export async function ensureOvs(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  await checkOvsRunning(exec);
  const datapathType = await resolveDatapathType(exec, spec);
  const bridge = bridgeOf(spec);
  const hwaddr = bridgeMacOf(spec);
  return [
    ...(await ensureUnderlayBridge(exec, spec, datapathType)),
    ...(await ensureBridge(exec, {
      name: bridge,
      datapathType,
      failMode: 'secure',
      protocols: ['OpenFlow13'],
      role: 'overlay',
      ...(hwaddr ? { hwaddr } : {}),
      ...(spec.datapathId ? { datapathId: spec.datapathId } : {}),
    })),
    // The key and certificates before the controller targets: an ssl: target without them never connects.
    ...(await ensureSsl(exec, spec)),
    ...(spec.overlayMtu !== undefined && (hasRole(spec, 'gateway') || hasRole(spec, 'dhcp')) ? await ensureInterfaceMtu(exec, bridge, spec.overlayMtu) : []),
    ...(await ensureController(exec, bridge, {
      targets: controllersOf(spec),
      ...(spec.controllerMaxBackoffMs !== undefined && { maxBackoffMs: spec.controllerMaxBackoffMs }),
    })),
    ...(await ensureTunnelPorts(exec, bridge, tunnelPortsFor(spec))),
  ];
}

/** Deletes the bridges we created (br0 with its ports, and br-phy). */
export async function removeOvs(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  const changes: string[] = [];
  const bridges = await listRows(exec, 'Bridge', ['name', 'external_ids']);
  const ours = [bridgeOf(spec), spec.underlay?.bridge ?? DEFAULT_UNDERLAY_BRIDGE];
  for (const row of bridges) {
    const name = String(row['name']);
    if (ours.includes(name) && stringMap(row['external_ids'])[OWNER_KEY] !== undefined) {
      await vsctl(exec, ['--if-exists', 'del-br', name]);
      changes.push(`bridge ${name}: deleted`);
    }
  }
  return changes;
}
