// Every Prometheus metric of miniCloud, declared here and nowhere else (docs/metrics.md describes them).
//
// Label values are bounded: node, subnet and VM names come from the store (series of a removed VM, subnet or node
// are dropped by `retain`), tables are OpenFlow table ids, error types and directions are fixed lists, API routes
// are route patterns (never raw URLs).
//
// Switch counters (ports, tables) are absolute values polled from OVS; they are turned into increments here, so a
// `_total` stays monotonic in this process even when a switch restarts and its counters start again from zero.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Inventory } from '../cloud/index.js';
import { NODE_PROVISIONING_STATES, type NodeProvisioningSample } from './node-provisioning.js';
import { REFUSAL_REASONS, type RefusalReason } from '../runtime/admission.js';

export const ERROR_TYPES = [
  'connection', // a switch connection failed or dropped unexpectedly
  'handshake', // HELLO / FEATURES failed
  'identity', // an ssl: switch's certificate did not name the datapath id it claimed (refused)
  'openflow', // an OFPT_ERROR from a switch
  'decode', // a message we could not decode
  'timeout', // echo, barrier or reply timeout
  'sync', // a resync or apply failed
  'bundle', // a bundle was rejected
  'backend', // the VM backend failed
  'other',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** Counters of one switch port, as OVS reports them (rx = received by the switch, i.e. sent by the VM). */
export interface PortCounters {
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxDropped: number;
  readonly txDropped: number;
  readonly rxErrors: number;
  readonly txErrors: number;
}

export interface TableCounters {
  readonly table: number;
  /** Flows installed in the table now. */
  readonly flows: number;
  /** Packets looked up in / matched in the table since the switch started. */
  readonly lookups: number;
  readonly matched: number;
  /** Sum of the packet and byte counters of the flows installed now (drops when flows are removed). */
  readonly flowPackets: number;
  readonly flowBytes: number;
}

export interface VmLabels {
  readonly vm: string;
  readonly subnet: string;
  readonly node: string;
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop) as minicloud_process_* / minicloud_nodejs_*. Default true. */
  readonly processMetrics?: boolean;
}

const PORT_FIELDS = [
  ['packets', 'rxPackets', 'txPackets'],
  ['bytes', 'rxBytes', 'txBytes'],
  ['dropped', 'rxDropped', 'txDropped'],
  ['errors', 'rxErrors', 'txErrors'],
] as const;
type PortKind = (typeof PORT_FIELDS)[number][0];
const DIRECTIONS = ['rx', 'tx'] as const;
export const POLL_RESULTS = ['ok', 'not_connected', 'failed'] as const;
/** What became of a frame too big for the tunnel that reached the controller (src/daemon/path-mtu.ts). */
export const PATH_MTU_OUTCOMES = [
  'icmp_sent', // ICMP fragmentation-needed sent back to the sending VM
  'rate_limited', // over the controller's per-node bound: dropped
  'not_answerable', // no ICMP error allowed (a later fragment, an ICMP error, a multicast destination...): dropped
  'not_from_vm', // from a port that is no VM of this node (e.g. a gateway's kernel with the wrong MTU): dropped
  'malformed', // not a well-formed IPv4 frame: dropped
  'send_failed', // the answer could not be sent (the connection's send queue full, or the connection closing): dropped
] as const;
export type PathMtuOutcome = (typeof PATH_MTU_OUTCOMES)[number];
/** What became of a VM's DHCP message that reached the controller (src/daemon/dhcp.ts). */
export const DHCP_OUTCOMES = [
  'offer', // DISCOVER answered
  'ack', // REQUEST (selecting, init-reboot, renewing, rebinding) answered
  'nak', // REQUEST for an address that is not the VM's: refused
  'ignored', // RELEASE, DECLINE, INFORM, or a REQUEST naming another server: no answer
  'chaddr_mismatch', // client hardware address is not the VM's MAC: dropped
  'not_from_vm', // from a port that is no VM of this node: dropped
  'malformed', // not a well-formed DHCP client message: dropped
  'send_failed', // the answer could not be sent (the connection's send queue full, or the connection closing): dropped
] as const;
export type DhcpOutcome = (typeof DHCP_OUTCOMES)[number];
export const VERIFY_OUTCOMES = ['clean', 'repaired', 'failed'] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly connected = new Set<string>();
  /** Last absolute switch counter seen, per series, to turn polls into increments. */
  private readonly last = new Map<string, number>();
  private readonly vmSeries = new Map<string, VmLabels>();
  private readonly tableSeries = new Map<string, Set<number>>();
  /** Every node and subnet label value in use, so `retain` can drop them. */
  private readonly nodesSeen = new Set<string>();
  private readonly subnetsSeen = new Set<string>();
  private inventory: (() => Inventory) | undefined;
  private provisioning: (() => readonly NodeProvisioningSample[]) | undefined;

  // --- controller
  private readonly datapathsConnected: Gauge;
  private readonly datapathUp: Gauge<'node'>;
  private readonly connects: Counter<'node'>;
  private readonly disconnects: Counter<'node'>;
  private readonly flowMods: Counter<'node'>;
  private readonly bundles: Counter<'node'>;
  private readonly pathMtu: Counter<'node' | 'outcome'>;
  private readonly dhcp: Counter<'node' | 'outcome'>;
  private readonly gatewayMoves: Counter<'node' | 'reason'>;
  private readonly gatewayFailedGauge: Gauge<'node'>;
  private readonly errors: Counter<'type'>;
  private readonly resyncDuration: Histogram<'node'>;
  private readonly resyncFlowMods: Histogram<'node'>;
  private readonly echoRoundTrip: Histogram<'node'>;
  private readonly handshakeDuration: Histogram;
  private readonly refused: Counter<'reason'>;
  private readonly apiDuration: Histogram<'method' | 'route' | 'status_code'>;

  // --- dataplane
  private readonly vmPort: Record<PortKind, Counter<'vm' | 'subnet' | 'node' | 'direction'>>;
  private readonly subnetPort: Record<PortKind, Counter<'subnet' | 'direction'>>;
  private readonly nodePort: Record<PortKind, Counter<'node' | 'direction'>>;
  private readonly vmSgDropped: Counter<'vm' | 'subnet' | 'node' | 'reason'>;
  /** Reasons seen, so a deleted VM's series can be removed. */
  private readonly vmSgReasons = new Set<string>();
  private readonly tableFlows: Gauge<'node' | 'table'>;
  private readonly tableLookups: Counter<'node' | 'table'>;
  private readonly tableMatched: Counter<'node' | 'table'>;
  private readonly tableFlowPackets: Gauge<'node' | 'table'>;
  private readonly tableFlowBytes: Gauge<'node' | 'table'>;
  private readonly statsPolls: Counter<'node' | 'result'>;

  // --- drift repair
  private readonly verifications: Counter<'node' | 'outcome'>;
  private readonly repairs: Counter<'node'>;
  private readonly verifyDuration: Histogram;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const inventory = (): Inventory | undefined => this.inventory?.();
    const provisioning = (): readonly NodeProvisioningSample[] => this.provisioning?.() ?? [];
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'minicloud_' });
      // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool rejects them).
      for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`minicloud_nodejs_active_${what}_total`);
    }

    this.datapathsConnected = new Gauge({
      name: 'minicloud_datapaths_connected',
      help: 'Switches (nodes) connected to the controller now.',
      registers,
    });
    this.datapathUp = new Gauge({ name: 'minicloud_datapath_up', help: '1 while the node\'s switch is connected, else 0.', labelNames: ['node'], registers });
    this.connects = new Counter({ name: 'minicloud_datapath_connects_total', help: 'Switch connections completed (handshake done).', labelNames: ['node'], registers });
    this.disconnects = new Counter({ name: 'minicloud_datapath_disconnects_total', help: 'Switch connections lost or closed.', labelNames: ['node'], registers });
    this.flowMods = new Counter({ name: 'minicloud_flow_mods_sent_total', help: 'FLOW_MOD messages sent to switches.', labelNames: ['node'], registers });
    this.bundles = new Counter({ name: 'minicloud_bundles_sent_total', help: 'OpenFlow bundles committed to switches.', labelNames: ['node'], registers });
    this.pathMtu = new Counter({
      name: 'minicloud_path_mtu_packets_total',
      help: 'Frames too big for the tunnel that reached the controller, by outcome (icmp_sent, rate_limited, not_answerable, not_from_vm, malformed).',
      labelNames: ['node', 'outcome'],
      registers,
    });
    this.dhcp = new Counter({
      name: 'minicloud_dhcp_packets_total',
      help: `VM DHCP messages answered or dropped by the controller, by outcome (${DHCP_OUTCOMES.join(', ')}).`,
      labelNames: ['node', 'outcome'],
      registers,
    });
    this.gatewayMoves = new Counter({
      name: 'minicloud_gateway_failovers_total',
      help: 'VMs whose egress was moved off this gateway (node) because it failed, by reason (datapath, bfd).',
      labelNames: ['node', 'reason'],
      registers,
    });
    this.gatewayFailedGauge = new Gauge({ name: 'minicloud_gateway_failed', help: "1 while the gateway's datapath has been gone beyond the failover grace period, else 0.", labelNames: ['node'], registers });
    this.errors = new Counter({ name: 'minicloud_errors_total', help: 'Errors by type (connection, openflow, timeout, sync, ...).', labelNames: ['type'], registers });
    for (const type of ERROR_TYPES) this.errors.inc({ type }, 0);
    this.resyncDuration = new Histogram({
      name: 'minicloud_resync_duration_seconds',
      help: 'Time to bring a switch to its desired pipeline (read flows, diff, send, confirm).',
      labelNames: ['node'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.resyncFlowMods = new Histogram({
      name: 'minicloud_resync_flow_mods',
      help: 'FLOW_MODs one resync sent.',
      labelNames: ['node'],
      buckets: [0, 1, 10, 100, 1000, 10000, 100000],
      registers,
    });
    this.echoRoundTrip = new Histogram({
      name: 'minicloud_echo_round_trip_seconds',
      help: 'OpenFlow ECHO request to reply time.',
      labelNames: ['node'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.handshakeDuration = new Histogram({
      name: 'minicloud_openflow_handshake_seconds',
      help: "From accepting a switch's connection (our HELLO sent) to the end of its OpenFlow handshake (FEATURES, PORT_DESC, SET_CONFIG, BARRIER).",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.refused = new Counter({
      name: 'minicloud_openflow_refused_total',
      help: 'OpenFlow connections refused: impostor datapath id, address not pinned, connection limits.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.refused.inc({ reason }, 0);
    this.apiDuration = new Histogram({
      name: 'minicloud_api_request_duration_seconds',
      help: 'HTTP API request durations by route pattern.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    const portHelp: Record<PortKind, string> = {
      packets: 'packets',
      bytes: 'bytes',
      dropped: 'packets dropped',
      errors: 'packets with errors',
    };
    const unit = (kind: PortKind): string => ({ packets: 'packets', bytes: 'bytes', dropped: 'dropped_packets', errors: 'error_packets' })[kind];
    const perKind = <L extends string>(scope: string, labelNames: L[], what: string): Record<PortKind, Counter<L>> =>
      Object.fromEntries(
        PORT_FIELDS.map(([kind]) => [
          kind,
          new Counter({
            name: `minicloud_${scope}_${unit(kind)}_total`,
            help: `${portHelp[kind]} on ${what}, by direction as the switch sees it (rx: from the VM, tx: to the VM).`,
            labelNames,
            registers,
          }),
        ]),
      ) as Record<PortKind, Counter<L>>;
    this.vmPort = perKind('vm', ['vm', 'subnet', 'node', 'direction'], "a VM's switch port");
    this.subnetPort = perKind('subnet', ['subnet', 'direction'], "the switch ports of a subnet's VMs");
    this.nodePort = perKind('node_vm', ['node', 'direction'], "the switch ports of a node's VMs");
    this.vmSgDropped = new Counter({
      name: 'minicloud_vm_security_dropped_packets_total',
      help:
        "Packets dropped by a VM's security-group rows (from their flow stats), by reason: spoofed_mac, spoofed_address (IPv4 source or ARP " +
        'sender not its own), egress_denied, ingress_denied (no rule of its groups allows it).',
      labelNames: ['vm', 'subnet', 'node', 'reason'],
      registers,
    });
    this.tableFlows = new Gauge({ name: 'minicloud_table_flows', help: 'Flows installed in an OpenFlow table.', labelNames: ['node', 'table'], registers });
    this.tableLookups = new Counter({ name: 'minicloud_table_lookups_total', help: 'Packets looked up in an OpenFlow table.', labelNames: ['node', 'table'], registers });
    this.tableMatched = new Counter({ name: 'minicloud_table_matched_packets_total', help: 'Packets that matched a flow of an OpenFlow table.', labelNames: ['node', 'table'], registers });
    this.tableFlowPackets = new Gauge({
      name: 'minicloud_table_flow_packets',
      help: 'Sum of the packet counters of the flows installed in a table now.',
      labelNames: ['node', 'table'],
      registers,
    });
    this.tableFlowBytes = new Gauge({
      name: 'minicloud_table_flow_bytes',
      help: 'Sum of the byte counters of the flows installed in a table now.',
      labelNames: ['node', 'table'],
      registers,
    });
    this.statsPolls = new Counter({
      name: 'minicloud_stats_polls_total',
      help: 'Dataplane stats polls of a node, by result (ok, not_connected, failed).',
      labelNames: ['node', 'result'],
      registers,
    });

    new Gauge({
      name: 'minicloud_vms',
      help: 'VMs by state.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(inventory()?.vmsByState ?? {})) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'minicloud_nodes',
      help: 'Nodes by role (a node with several roles counts once per role).',
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        for (const [role, n] of Object.entries(inventory()?.nodesByRole ?? {})) this.set({ role }, n);
      },
    });
    new Gauge({
      name: 'minicloud_floating_ips',
      help: 'Floating IPs by state: attached (to a VM), unattached (allocated to a project), free (left in the gateways\' pools).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const f = inventory()?.floatingIps;
        if (f) for (const state of ['attached', 'unattached', 'free'] as const) this.set({ state }, f[state]);
      },
    });
    new Gauge({
      name: 'minicloud_subnet_addresses_free',
      help: 'VM addresses still free in a subnet.',
      labelNames: ['subnet'],
      registers,
      collect() {
        this.reset();
        for (const s of inventory()?.subnets ?? []) this.set({ subnet: s.name }, s.free);
      },
    });
    new Gauge({
      name: 'minicloud_node_provisioning',
      help: "A node's provisioning state: 1 for the state it is in, 0 for the others (removing: the node left the store and its removal runs or is retried).",
      labelNames: ['node', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of provisioning()) for (const state of NODE_PROVISIONING_STATES) this.set({ node: s.node, state }, state === s.state ? 1 : 0);
      },
    });
    new Counter({
      name: 'minicloud_node_provisioning_failures_total',
      help: 'Failed provisioning runs of a node (bootstrap, DHCP reservations or removal); each is retried with a backoff.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const s of provisioning()) this.inc({ node: s.node }, s.failures);
      },
    });
    new Gauge({
      name: 'minicloud_node_provisioning_next_retry_timestamp_seconds',
      help: 'When a failed or waiting node is retried next (Unix time); no series for a node without a retry scheduled.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const s of provisioning()) if (s.nextRetryAt !== undefined) this.set({ node: s.node }, s.nextRetryAt / 1000);
      },
    });
    this.verifications = new Counter({
      name: 'minicloud_flow_verifications_total',
      help: "Periodic verifications of a switch's flows against its desired state (sync.verifyIntervalSeconds), by outcome: clean (nothing differed), repaired, failed.",
      labelNames: ['node', 'outcome'],
      registers,
    });
    this.repairs = new Counter({
      name: 'minicloud_flow_repairs_total',
      help: 'Flow, group and meter mods periodic verification sent because the switch differed from its desired state (changed or deleted by hand, lost).',
      labelNames: ['node'],
      registers,
    });
    this.verifyDuration = new Histogram({
      name: 'minicloud_flow_verification_duration_seconds',
      help: "One periodic verification: read the switch's flow table, diff, send the difference if any.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Where the VM, node and subnet gauges come from (the CloudService, via the API). */
  setInventory(source: () => Inventory): void {
    this.inventory = source;
  }

  /** Where the node provisioning gauge and counter come from (the Provisioner, when the controller provisions nodes). */
  setProvisioning(source: () => readonly NodeProvisioningSample[]): void {
    this.provisioning = source;
  }

  // --- controller: called by the runtime glue

  datapathConnected(node: string): void {
    this.nodesSeen.add(node);
    this.connected.add(node);
    this.connects.inc({ node });
    this.datapathUp.set({ node }, 1);
    this.datapathsConnected.set(this.connected.size);
  }

  datapathDisconnected(node: string): void {
    this.nodesSeen.add(node);
    this.connected.delete(node);
    this.disconnects.inc({ node });
    this.datapathUp.set({ node }, 0);
    this.datapathsConnected.set(this.connected.size);
  }

  flowModsSent(node: string, count: number): void {
    this.nodesSeen.add(node);
    this.flowMods.inc({ node }, count);
  }

  bundleSent(node: string): void {
    this.nodesSeen.add(node);
    this.bundles.inc({ node });
  }

  pathMtuPacket(node: string, outcome: PathMtuOutcome): void {
    this.nodesSeen.add(node);
    this.pathMtu.inc({ node, outcome });
  }

  dhcpPacket(node: string, outcome: DhcpOutcome): void {
    this.nodesSeen.add(node);
    this.dhcp.inc({ node, outcome });
  }

  /** One VM moved off gateway `node` (src/daemon/gateway-health.ts). */
  gatewayFailovers(node: string, reason: 'datapath' | 'bfd'): void {
    this.nodesSeen.add(node);
    this.gatewayMoves.inc({ node, reason });
  }

  setGatewayFailed(node: string, failed: boolean): void {
    this.nodesSeen.add(node);
    this.gatewayFailedGauge.set({ node }, failed ? 1 : 0);
  }

  /** Unknown types count as 'other', so the label set stays fixed. */
  error(type: ErrorType | string): void {
    this.errors.inc({ type: (ERROR_TYPES as readonly string[]).includes(type) ? type : 'other' });
  }

  openflowRefused(reason: RefusalReason): void {
    this.refused.inc({ reason });
  }

  observeResync(node: string, seconds: number, flowMods: number): void {
    this.nodesSeen.add(node);
    this.resyncDuration.observe({ node }, seconds);
    this.resyncFlowMods.observe({ node }, flowMods);
  }

  /** One periodic verification of the node's switch: `repaired` mods sent (0: clean), or undefined when it failed. */
  observeVerification(node: string, seconds: number, repaired: number | undefined): void {
    this.nodesSeen.add(node);
    this.verifyDuration.observe(seconds);
    this.verifications.inc({ node, outcome: repaired === undefined ? 'failed' : repaired > 0 ? 'repaired' : 'clean' });
    if (repaired !== undefined) this.repairs.inc({ node }, repaired);
  }

  observeEchoRoundTrip(node: string, seconds: number): void {
    this.nodesSeen.add(node);
    this.echoRoundTrip.observe({ node }, seconds);
  }

  /** A switch connection's handshake time (no node label: it is measured before the node is known to be one). */
  observeHandshake(seconds: number): void {
    this.handshakeDuration.observe(seconds);
  }

  /** `route` is the route pattern ('/api/v1/vms/:name'), never the raw URL. */
  observeApiRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.apiDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  // --- dataplane: called by the StatsPoller

  statsPolled(node: string, result: (typeof POLL_RESULTS)[number]): void {
    this.nodesSeen.add(node);
    this.statsPolls.inc({ node, result });
  }

  recordVmPort(labels: VmLabels, counters: PortCounters): void {
    this.vmSeries.set(labels.vm, labels);
    this.nodesSeen.add(labels.node);
    this.subnetsSeen.add(labels.subnet);
    for (const [kind, rx, tx] of PORT_FIELDS) {
      for (const [direction, field] of [['rx', rx] as const, ['tx', tx] as const]) {
        const delta = this.increment(`vm/${labels.vm}/${labels.node}/${kind}/${direction}`, counters[field]);
        this.vmPort[kind].inc({ ...labels, direction }, delta);
        this.subnetPort[kind].inc({ subnet: labels.subnet, direction }, delta);
        this.nodePort[kind].inc({ node: labels.node, direction }, delta);
      }
    }
  }

  /** One VM's security-group drop counter (the sum of its drop rows' packet counters for `reason`). */
  recordVmDrops(labels: VmLabels, reason: string, packets: number): void {
    this.vmSeries.set(labels.vm, labels);
    this.vmSgReasons.add(reason);
    this.vmSgDropped.inc({ ...labels, reason }, this.increment(`vm/${labels.vm}/${labels.node}/sg/${reason}`, packets));
  }

  recordTables(node: string, tables: readonly TableCounters[]): void {
    this.nodesSeen.add(node);
    const seen = this.tableSeries.get(node) ?? new Set<number>();
    this.tableSeries.set(node, seen);
    for (const t of tables) {
      const labels = { node, table: String(t.table) };
      seen.add(t.table);
      this.tableFlows.set(labels, t.flows);
      this.tableFlowPackets.set(labels, t.flowPackets);
      this.tableFlowBytes.set(labels, t.flowBytes);
      this.tableLookups.inc(labels, this.increment(`table/${node}/${t.table}/lookups`, t.lookups));
      this.tableMatched.inc(labels, this.increment(`table/${node}/${t.table}/matched`, t.matched));
    }
  }

  /** Drops every series of VMs, subnets and nodes that no longer exist. */
  retain(existing: { readonly vms: ReadonlySet<string>; readonly subnets: ReadonlySet<string>; readonly nodes: ReadonlySet<string> }): void {
    for (const [vm, labels] of this.vmSeries) {
      if (existing.vms.has(vm)) continue;
      this.vmSeries.delete(vm);
      for (const [kind] of PORT_FIELDS) for (const direction of DIRECTIONS) this.vmPort[kind].remove({ ...labels, direction });
      for (const reason of this.vmSgReasons) this.vmSgDropped.remove({ ...labels, reason });
      this.forgetBaselines(`vm/${vm}/`);
    }
    for (const subnet of this.subnetsSeen) {
      if (existing.subnets.has(subnet)) continue;
      this.subnetsSeen.delete(subnet);
      for (const [kind] of PORT_FIELDS) for (const direction of DIRECTIONS) this.subnetPort[kind].remove({ subnet, direction });
    }
    for (const node of this.nodesSeen) {
      if (existing.nodes.has(node)) continue;
      this.nodesSeen.delete(node);
      for (const [kind] of PORT_FIELDS) for (const direction of DIRECTIONS) this.nodePort[kind].remove({ node, direction });
      for (const m of [this.datapathUp, this.connects, this.disconnects, this.flowMods, this.bundles, this.resyncDuration, this.resyncFlowMods, this.echoRoundTrip]) {
        m.remove({ node });
      }
      for (const result of POLL_RESULTS) this.statsPolls.remove({ node, result });
      for (const outcome of PATH_MTU_OUTCOMES) this.pathMtu.remove({ node, outcome });
      for (const outcome of DHCP_OUTCOMES) this.dhcp.remove({ node, outcome });
      for (const outcome of VERIFY_OUTCOMES) this.verifications.remove({ node, outcome });
      this.repairs.remove({ node });
      for (const reason of ['datapath', 'bfd']) this.gatewayMoves.remove({ node, reason });
      this.gatewayFailedGauge.remove({ node });
    }
    for (const [node, tables] of this.tableSeries) {
      if (existing.nodes.has(node)) continue;
      this.tableSeries.delete(node);
      for (const table of tables) {
        const labels = { node, table: String(table) };
        for (const m of [this.tableFlows, this.tableFlowPackets, this.tableFlowBytes, this.tableLookups, this.tableMatched]) m.remove(labels);
      }
      this.forgetBaselines(`table/${node}/`);
    }
  }

  private increment(key: string, value: number): number {
    const previous = this.last.get(key);
    this.last.set(key, value);
    if (previous === undefined || value < previous) return value; // first sight, or the switch's counter restarted
    return value - previous;
  }

  private forgetBaselines(prefix: string): void {
    for (const key of this.last.keys()) if (key.startsWith(prefix)) this.last.delete(key);
  }
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  return new Metrics(options);
}
