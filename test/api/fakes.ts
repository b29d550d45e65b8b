// In-memory fakes of CloudService's collaborators (network applier, VM backend, flow reader, datapaths, resync).
// Only these are fake in the API tests: the store (SQLite), CloudService and the Fastify app are the real ones.
import type {
  DatapathInfo,
  DatapathView,
  VmExecResult,
  FlowReader,
  FlowRow,
  NetworkApplier,
  NetworkResult,
  ResyncOutcome,
  Resyncer,
  VmBackend,
  VmSpec,
} from '../../src/cloud/index.js';
import type { Cloud } from '../../src/topology/model.js';

/** Confirms every node but those marked disconnected; remembers each apply. */
export class FakeNetwork implements NetworkApplier {
  readonly applies: { cloud: Cloud; nodes: readonly string[] }[] = [];
  readonly disconnected = new Set<string>();
  delayMs = 0;
  failNext = false;
  /** Called with every applied cloud (e.g. to compile it with the real pipeline). */
  onApply: ((cloud: Cloud) => void) | undefined;

  async apply(cloud: Cloud, nodes: readonly string[]): Promise<NetworkResult> {
    this.applies.push({ cloud, nodes });
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('fake apply failure');
    }
    this.onApply?.(cloud);
    return { confirmed: nodes.filter((n) => !this.disconnected.has(n)), pending: nodes.filter((n) => this.disconnected.has(n)) };
  }

  get lastCloud(): Cloud | undefined {
    return this.applies.at(-1)?.cloud;
  }
}

export class FakeBackend implements VmBackend {
  readonly vms = new Map<string, { spec: VmSpec; running: boolean }>();
  readonly calls: string[] = [];
  /** VM names whose next create (or any op) fails. */
  readonly failCreate = new Set<string>();
  readonly failDelete = new Set<string>();
  /** VM names whose create fails with this error instead. */
  readonly createErrors = new Map<string, Error>();
  delayMs = 0;

  async create(spec: VmSpec): Promise<void> {
    this.calls.push(`create ${spec.name}`);
    if (this.delayMs) await sleep(this.delayMs * Math.random());
    if (this.failCreate.has(spec.name)) throw new Error(`lxd: image '${spec.image}' not found`);
    const error = this.createErrors.get(spec.name);
    if (error) throw error;
    this.vms.set(spec.name, { spec, running: true });
  }

  async start(spec: VmSpec): Promise<void> {
    this.calls.push(`start ${spec.name}`);
    this.must(spec.name).running = true;
  }

  async stop(spec: VmSpec): Promise<void> {
    this.calls.push(`stop ${spec.name}`);
    this.must(spec.name).running = false;
  }

  async delete(spec: VmSpec): Promise<void> {
    this.calls.push(`delete ${spec.name}`);
    if (this.failDelete.has(spec.name)) throw new Error('lxd: device busy');
    this.vms.delete(spec.name);
  }

  async exec(spec: VmSpec, argv: readonly string[]): Promise<VmExecResult> {
    this.must(spec.name);
    return { exitCode: 0, stdout: `${argv.join(' ')} on ${spec.name}\n`, stderr: '' };
  }

  private must(name: string): { spec: VmSpec; running: boolean } {
    const vm = this.vms.get(name);
    if (!vm) throw new Error(`no container ${name}`);
    return vm;
  }
}

export class FakeDatapaths implements DatapathView, FlowReader, Resyncer {
  readonly connected = new Map<string, DatapathInfo>();

  connect(node: string, dpid: string, ports: { name: string; number: number }[] = []): void {
    this.connected.set(node, { node, dpid, connected: true, since: new Date(0).toISOString(), ports });
  }

  list(): DatapathInfo[] {
    return [...this.connected.values()];
  }

  async flows(node: string): Promise<FlowRow[] | undefined> {
    if (!this.connected.has(node)) return undefined;
    return [
      {
        table: 0,
        priority: 20,
        cookie: '0x4d43000000000001',
        packets: 7,
        bytes: 420,
        durationSeconds: 12.5,
        text: 'cookie=0x4d43000000000001, duration=12.5s, table=0, n_packets=7, n_bytes=420, priority=20,dl_dst=ff:ff:ff:ff:ff:ff actions=resubmit(,50)',
      },
    ];
  }

  async resync(node: string): Promise<ResyncOutcome> {
    return this.connected.has(node) ? { connected: true, flowMods: 3, seconds: 0.01 } : { connected: false };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
