// Polls the switches for dataplane counters (VM ports, tables) at an interval and feeds them to the metrics.
// The numbers come through a StatsSource (the runtime glue: OFPMP_PORT_STATS, OFPMP_TABLE_STATS and aggregate flow
// stats); which port is which VM comes from the cloud model, matched by port name.
import { northSouthAddress } from '../topology/north-south.js';
import type { SgDrops } from '../pipeline/sg-drops.js';
import { ipv4ToNumber, type Cloud } from '../topology/model.js';
import type { Metrics, PortCounters, TableCounters } from './metrics.js';

export interface PortStats extends PortCounters {
  /** The port's interface name on br0 (a VM's `port`). */
  readonly name: string;
}

export interface StatsSource {
  /** undefined when the node's switch is not connected. */
  portStats(node: string): Promise<readonly PortStats[] | undefined>;
  tableStats(node: string): Promise<readonly TableCounters[] | undefined>;
  /** Packets dropped by each VM's security-group rows (port security, rules); absent: not counted. */
  vmDrops?(node: string): Promise<readonly SgDrops[] | undefined>;
}

export interface StatsPollerOptions {
  readonly source: StatsSource;
  readonly metrics: Metrics;
  readonly cloud: () => Cloud;
  /** Default 15 s. */
  readonly intervalMs?: number;
  readonly onError?: (node: string, error: unknown) => void;
}

export class StatsPoller {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: StatsPollerOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.pollOnce(), this.options.intervalMs ?? 15_000);
    this.timer.unref();
    void this.pollOnce();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** One round over every node; a round still running is joined rather than overlapped. */
  pollOnce(): Promise<void> {
    this.polling ??= this.poll().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async poll(): Promise<void> {
    const { source, metrics } = this.options;
    const cloud = this.options.cloud();
    await Promise.all(
      cloud.nodes.map(async (node) => {
        try {
          const [ports, tables] = await Promise.all([source.portStats(node.name), source.tableStats(node.name)]);
          if (ports === undefined || tables === undefined) {
            metrics.statsPolled(node.name, 'not_connected');
            return;
          }
          const byName = new Map(ports.map((p) => [p.name, p]));
          for (const vm of cloud.vms) {
            if (vm.node !== node.name) continue;
            const port = byName.get(vm.port);
            if (port) metrics.recordVmPort({ vm: vm.name, subnet: vm.subnet, node: vm.node }, port);
          }
          metrics.recordTables(node.name, tables);
          const drops = await source.vmDrops?.(node.name);
          if (drops?.length) {
            // A VM's cookie carries its north-south address: its IP is only unique within its project.
            const byIp = new Map(cloud.vms.filter((v) => v.node === node.name).map((v) => [ipv4ToNumber(northSouthAddress(v)), v] as const));
            for (const d of drops) {
              const vm = byIp.get(d.vmIp);
              if (vm) metrics.recordVmDrops({ vm: vm.name, subnet: vm.subnet, node: vm.node }, d.reason, d.packets);
            }
          }
          metrics.statsPolled(node.name, 'ok');
        } catch (e) {
          metrics.statsPolled(node.name, 'failed');
          this.options.onError?.(node.name, e);
        }
      }),
    );
    // The model may have changed while we polled: read it again so a VM deleted meanwhile loses its series.
    const now = this.options.cloud();
    metrics.retain({
      vms: new Set(now.vms.map((v) => v.name)),
      subnets: new Set(now.subnets.map((s) => s.name)),
      nodes: new Set(now.nodes.map((n) => n.name)),
    });
  }
}
