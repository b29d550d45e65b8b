// The controller process (the composition root): store, cloud service, OpenFlow runtime, network glue, VM backends,
// HTTP API, stats poller, and an orderly shutdown. `minicloud controller --config FILE` runs it; tests start it
// in-process with `startServer`.
import { pino, type Logger } from 'pino';
import { buildApp, storeAnswers, type App } from '../api/app.js';
import { createMetrics, type Metrics } from './metrics.js';
import { StatsPoller } from './stats-poller.js';
import { ApiTokens } from '../api/tokens.js';
import { Controller, RoleKeeper, type FlowVerifier } from '../runtime/index.js';
import { startDriftRepair } from './drift.js';
import { ControlPlane } from './control-plane.js';
import { configuredLeadership, type Leadership } from './leadership.js';
import { registerLeadershipMetrics } from './leadership-metrics.js';
import { EtcdStore } from '../topology/etcd-store.js';
import { toCloud, type CloudRecords } from '../topology/records.js';
import { CloudService } from '../cloud/index.js';
import type { Config } from './config.js';
import { CloudNetwork, OWNERSHIP_COOKIE, sshTargetAddress } from './network.js';
import { GatewayMonitor } from './gateway-health.js';
import { NodePipelines } from './node-pipelines.js';
import { PathMtuResponder } from './path-mtu.js';
import { DhcpResponder } from './dhcp.js';
import { ipv4ToNumber } from '../topology/model.js';
import { NodeExecutors } from './node-executors.js';
import { storeRemovalLedger } from './removal-ledger.js';
import { openConfiguredStore, type Store } from './store.js';
import { Provisioner, provisioningSettings } from './provisioning.js';
import { NodeBackends } from './vm-backend.js';

export interface ServerOptions {
  readonly logger?: Logger;
  /** Node.js process metrics in /metrics (default true). */
  readonly processMetrics?: boolean;
  /** Called with the admin token made when the store has none (first start; default: printed on stdout). */
  readonly onNewToken?: (token: string) => void;
}

export interface Server {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly service: CloudService;
  readonly controller: Controller;
  readonly network: CloudNetwork;
  /** Periodic drift repair (`sync.verifyIntervalSeconds`; not started when 0). */
  readonly verifier: FlowVerifier;
  readonly backends: NodeBackends;
  /** Node provisioning from the store, when `provisioning.enabled`. */
  readonly provisioner?: Provisioner;
  readonly metrics: Metrics;
  /** Who leads (always this one with SQLite); `controlPlane` is what it means here, with several controllers. */
  readonly leadership: Leadership;
  readonly controlPlane?: ControlPlane;
  readonly poller: StatsPoller;
  /** Gateway failover: watches the switches, moves VMs off failed gateways. */
  readonly gatewayMonitor: GatewayMonitor;
  readonly app: App;
  readonly tokens: ApiTokens;
  /** The admin token made at this start (the store had none), else undefined: the store keeps only hashes. */
  readonly token?: string;
  /** `http://host:port` the API listens on. */
  readonly apiUrl: string;
  /** OpenFlow listener addresses. */
  readonly openflow: string[];
  stop(): Promise<void>;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<Server> {
  const logger = options.logger ?? pino({ level: config.log.level });
  const cleanups: (() => Promise<void> | void)[] = [];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'shutdown step failed');
      }
    }
  };
  try {
    const { store, where } = await openConfiguredStore(config.store);
    cleanups.push(() => store.close());
    logger.info({ store: where, backend: config.store.backend }, 'store open');

    const metrics = createMetrics({ processMetrics: options.processMetrics ?? true });
    const leadership = configuredLeadership(config.store, logger.child({ component: 'leadership' }));
    cleanups.push(() => leadership.stop());
    // Several controllers: OpenFlow roles; the provisioner runs on the leader only.
    const roles = leadership.kind === 'etcd' ? new RoleKeeper() : undefined;
    const leads = (): boolean => leadership.state().role === 'leader';
    const hostsLog = logger.child({ component: 'hosts' });
    const executors = new NodeExecutors(config.vms, hostsLog, config.hosts.maxOutputBytes);
    cleanups.push(() => executors.close());
    // The store is the one source of the cloud: everything made before the service reads it from there.
    const records = (): CloudRecords => store.read((r) => r.records());
    const revision = (): number => store.read((r) => r.revision());
    const provisioner = config.provisioning.enabled
      ? new Provisioner({
          records,
          revision,
          removals: storeRemovalLedger(store, (err) => logger.warn({ err }, 'recording a node removal attempt in the store failed; the next attempt records it')),
          settings: provisioningSettings(config),
          retryMs: config.provisioning.retryMinSeconds * 1000,
          retryMaxMs: config.provisioning.retryMaxSeconds * 1000,
          executorFor: (node) => executors.for(node).exec,
          removed: (node) => void executors.release(node),
          log: logger.child({ component: 'provisioning' }),
        })
      : undefined;
    if (provisioner) cleanups.push(() => provisioner.stop());
    if (provisioner) metrics.setProvisioning(() => provisioner.samples());
    // Which datapath is which node and what it must hold: the runtime asks on every connect, so it comes first.
    const networkLog = logger.child({ component: 'network' });
    const pipelines = new NodePipelines({
      cloud: () => toCloud(records()),
      revision,
      datapathIds: config.openflow.datapathIds,
      extraAddresses: (node) => {
        const target = store.read((r) => r.getNode(node))?.sshTarget;
        const address = target === undefined ? undefined : sshTargetAddress(target);
        return address === undefined ? [] : [address];
      },
      log: networkLog,
      mtu: config.network,
      dhcp: config.network.dhcp,
      broadcast: config.network.broadcast,
    });
    const controller = new Controller({
      listen: config.openflow.listen,
      connect: config.openflow.connect,
      ...(config.openflow.tls && { tls: config.openflow.tls }),
      // The production node <-> dpid mapping: a certificate naming node A is refused on node B's datapath id.
      ...(config.openflow.tls?.requireNodeIdentity && { identity: { nodeOf: (dpid: bigint) => pipelines.nodeOf(dpid) } }),
      ...(config.openflow.tls && { connector: { verifyHostname: config.openflow.tls.verifyHostname } }),
      desiredState: pipelines.desiredState,
      manages: (dpid) => pipelines.manages(dpid),
      sync: { cookie: OWNERSHIP_COOKIE },
      connection: {
        echoIntervalMs: config.openflow.echoIntervalSeconds * 1000,
        multipartMaxBytes: config.openflow.multipartMaxBytes,
        multipartMaxParts: config.openflow.multipartMaxParts,
        multipartTimeoutMs: config.openflow.multipartTimeoutSeconds * 1000,
      },
      registry: {
        limits: { maxConnections: config.openflow.maxConnections, maxPendingPerAddress: config.openflow.maxPendingPerAddress },
        admission: {
          maxUnknown: config.openflow.maxUnknownDatapaths,
          ...(config.openflow.pinAddresses && { pinnedAddresses: (dpid: bigint) => pipelines.pinnedAddresses(dpid) }),
        },
      },
      maxConcurrentSyncs: config.openflow.maxConcurrentSyncs,
      yieldToConnections: config.openflow.yieldToConnections,
      ...(roles && { roles }),
      logger: logger.child({ component: 'openflow' }),
    });
    const network = new CloudNetwork({ controller, pipelines, metrics, log: networkLog });
    new PathMtuResponder({
      controller,
      nodeOf: (dpid) => pipelines.nodeOf(dpid),
      vmAtPort: (node, port) => pipelines.vmAtPort(node, port),
      overlayMtu: () => pipelines.overlayMtu(),
      metrics,
      log: logger.child({ component: 'path-mtu' }),
    });
    if (config.network.dhcp === 'controller') {
      new DhcpResponder({
        controller,
        nodeOf: (dpid) => pipelines.nodeOf(dpid),
        clientAt: (node, port) => pipelines.dhcpClientAt(node, port),
        overlayMtu: () => pipelines.overlayMtu(),
        leaseSeconds: config.network.dhcpLeaseSeconds,
        dns: config.network.dns.map(ipv4ToNumber),
        metrics,
        log: logger.child({ component: 'dhcp' }),
      });
    }
    const backends = new NodeBackends({
      vms: config.vms,
      logger: hostsLog,
      executors,
      releaseRemovedNodes: !provisioner,
      ...(provisioner && { nodeReady: (node) => provisioner.ready(node.name) }),
      overlayMtu: () => pipelines.overlayMtu(),
    });
    const service = new CloudService({
      store,
      // Every committed change reaches the provisioner too (it recomputes each node's spec and acts on differences).
      network: provisioner ? { apply: (cloud, nodes) => (leads() && provisioner.notify(), network.apply(cloud, nodes)) } : network,
      backend: backends,
      flows: network,
      datapaths: network,
      resyncer: network,
      overlay: config.overlay,
      backendTimeouts: {
        ...(config.vms.createTimeoutSeconds !== undefined && { createMs: config.vms.createTimeoutSeconds * 1000 }),
        ...(config.vms.deleteTimeoutSeconds !== undefined && { deleteMs: config.vms.deleteTimeoutSeconds * 1000 }),
      },
      log: logger.child({ component: 'cloud' }),
      ...(provisioner && { provisioning: (node: string) => provisioner.status(node), nodeUndo: (node, records) => provisioner.undoFor(node, records) }),
      floatingIpPools: config.floatingIps.pools,
      ...(provisioner && { nodeProvisioned: (node: string) => provisioner.ready(node, 30_000) }),
    });
    metrics.setInventory(() => service.inventory());
    const interrupted = await service.recoverInterrupted();
    if (interrupted.length > 0) logger.warn({ vms: interrupted }, 'VMs interrupted by a restart marked error: delete them to clean up');

    const tokens = new ApiTokens(store);
    const { token } = await tokens.ensureAdmin();
    if (token !== undefined && config.api.auth) (options.onNewToken ?? ((t) => process.stdout.write(`miniCloud API token (shown once): ${t}\n`)))(token);

    // Before the runtime starts, so it sees every switch connect.
    const gatewayMonitor = new GatewayMonitor({
      controller,
      nodeOf: (dpid) => pipelines.nodeOf(dpid),
      records,
      revision,
      failover: service.gatewayFailover,
      metrics,
      log: logger.child({ component: 'gateway-failover' }),
      settings: config.gatewayFailover,
      leads,
    });
    gatewayMonitor.start();
    cleanups.push(() => gatewayMonitor.stop());
    if (provisioner) {
      controller.datapaths.on('connected', (dp) => {
        const node = pipelines.nodeOf(dp.dpid);
        if (node !== undefined) provisioner.recheck(node);
      });
    }
    await controller.start();
    cleanups.push(() => controller.stop());
    const plain = config.openflow.listen.filter((l) => l.startsWith('tcp:'));
    if (config.openflow.tls && plain.length > 0) logger.warn({ listen: plain }, 'OpenFlow over plain tcp: next to ssl:: switches connecting there are neither encrypted nor authenticated');
    registerLeadershipMetrics(metrics.registry, { leadership, ...(roles && { roles }), datapaths: () => controller.datapaths.list(), nodeOf: (dpid) => pipelines.nodeOf(dpid) });
    const controlPlane = roles
      ? new ControlPlane({
          leadership,
          roles,
          controller,
          manages: (dpid) => pipelines.manages(dpid),
          revision,
          ...(store instanceof EtcdStore && { onStoreChange: (l: () => void) => store.onChange(l) }),
          warm: () => void pipelines.current(),
          whileLeading: () => provisioner?.notify(),
          log: logger.child({ component: 'leadership' }),
        })
      : undefined;
    controlPlane?.start();
    cleanups.push(() => controlPlane?.stop());
    await leadership.start();
    if (leads()) provisioner?.notify();
    cleanups.push(() => network.stop());
    network.startEchoProbe(config.openflow.echoIntervalSeconds * 1000);
    const verifier = startDriftRepair({
      controller,
      nodeOf: (dpid) => pipelines.nodeOf(dpid),
      leads,
      intervalSeconds: config.sync.verifyIntervalSeconds,
      metrics,
      log: logger.child({ component: 'drift' }),
    });
    cleanups.push(() => verifier.stop());
    logger.info({ listen: controller.addresses, connect: config.openflow.connect }, 'OpenFlow controller running');

    const app = await buildApp({
      service,
      metrics,
      ready: () => {
        const s = leadership.state();
        return { ...storeAnswers(service), leadership: { role: s.role, id: s.id, ...(s.leaderId !== undefined && { leader: s.leaderId }), generation: String(s.generation) } };
      },
      auth: config.api.auth ? { verify: tokens.verify } : false,
      metricsAuth: config.metrics.auth,
      limits: config.api.limits,
      tokens,
      logger: logger.child({ component: 'api' }),
    });
    cleanups.push(() => app.close());
    await app.listen({ host: config.api.host, port: config.api.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.api.port;
    const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
    const apiUrl = `http://${host}:${port}`;
    logger.info({ url: apiUrl, auth: config.api.auth, metricsAuth: config.metrics.auth }, 'API listening');

    const poller = new StatsPoller({
      source: network,
      metrics,
      cloud: () => service.cloud(),
      intervalMs: config.stats.intervalSeconds * 1000,
      onError: (node, err) => logger.warn({ node, err: err instanceof Error ? err.message : String(err) }, 'stats poll failed'),
    });
    poller.start();
    // Shutdown order: API first (no new requests), then the poller, provisioning (runs in flight finish), the runtime,
    // the backends and their executors, the store.
    cleanups.splice(
      0,
      cleanups.length,
      () => store.close(),
      () => executors.close(),
      () => controller.stop(),
      () => verifier.stop(),
      // Resigning hands the switches over now rather than after the lease's TTL.
      () => leadership.stop(),
      () => controlPlane?.stop(),
      () => network.stop(),
      () => gatewayMonitor.stop(),
      () => provisioner?.stop(),
      () => poller.stop(),
      () => app.close(),
    );

    let stopping: Promise<void> | undefined;
    return {
      config,
      logger,
      store,
      service,
      controller,
      network,
      verifier,
      backends,
      ...(provisioner && { provisioner }),
      metrics,
      leadership,
      ...(controlPlane && { controlPlane }),
      poller,
      gatewayMonitor,
      app,
      tokens,
      ...(token !== undefined && { token }),
      apiUrl,
      openflow: controller.addresses,
      stop: () => (stopping ??= undo().then(() => logger.info('controller stopped'))),
    };
  } catch (e) {
    await undo();
    throw e;
  }
}

/** Runs the server until SIGINT or SIGTERM, then shuts it down. */
export async function runServer(config: Config): Promise<void> {
  const server = await startServer(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      server.logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await server.stop();
}
