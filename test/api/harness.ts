// A real store (SQLite in a temp dir), CloudService and app, with fake collaborators (./fakes.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp, type App, type AppDeps } from '../../src/api/app.js';
import type { ApiLimits } from '../../src/api/limits.js';
import { createMetrics, type Metrics } from '../../src/daemon/metrics.js';
import { ApiTokens } from '../../src/api/tokens.js';
import { CloudService } from '../../src/cloud/index.js';
import { openSqliteStore } from '../../src/topology/sqlite-store.js';
import type { CloudStore, TokenStore } from '../../src/topology/store.js';
import type { FloatingIpPool } from '../../src/topology/floating-ips.js';
import { FakeBackend, FakeDatapaths, FakeNetwork } from './fakes.js';

export interface Harness {
  readonly dir: string;
  readonly store: CloudStore & TokenStore;
  readonly service: CloudService;
  readonly app: App;
  readonly metrics: Metrics;
  readonly network: FakeNetwork;
  readonly backend: FakeBackend;
  readonly datapaths: FakeDatapaths;
  readonly tokens: ApiTokens;
  /** The admin token 'initial'. */
  readonly token: string;
  /** inject with the bearer token; `json` is loosely typed: tests assert its shape */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; json: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly auth?: boolean;
  readonly metricsAuth?: boolean;
  readonly limits?: Partial<ApiLimits>;
  readonly logger?: FastifyBaseLogger;
  readonly overlay?: string;
  /** What the app gets instead of the service (e.g. a proxy recording every call). */
  readonly wrapService?: (service: CloudService) => CloudService;
  /** The same for the token routes (auth itself keeps the real verifier). */
  readonly wrapTokens?: (tokens: ApiTokens) => ApiTokens;
  readonly onRoute?: (route: { readonly method: string; readonly url: string }) => void;
  /** Default SEED_FLOATING_IP_POOLS (gw-1 of SEED_NODES). */
  readonly floatingIpPools?: readonly FloatingIpPool[];
  /** Another store than a fresh SQLite file (e.g. etcd); closed by `close`. */
  readonly store?: CloudStore & TokenStore;
  /** What /readyz reports (the daemon's, with leadership); default the API's own. */
  readonly ready?: AppDeps['ready'];
}

export async function makeHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'minicloud-api-'));
  const store = options.store ?? openSqliteStore(join(dir, 'cloud.db'));
  const network = new FakeNetwork();
  const backend = new FakeBackend();
  const datapaths = new FakeDatapaths();
  const service = new CloudService({
    store,
    network,
    backend,
    flows: datapaths,
    datapaths,
    resyncer: datapaths,
    ...(options.overlay !== undefined && { overlay: options.overlay }),
    floatingIpPools: options.floatingIpPools ?? SEED_FLOATING_IP_POOLS,
  });
  const metrics = createMetrics({ processMetrics: false });
  const tokens = new ApiTokens(store);
  const { token } = await tokens.ensureAdmin();
  if (token === undefined) throw new Error('a new store has no admin token');
  const served = options.wrapService ? options.wrapService(service) : service;
  // As src/daemon/server.ts wires it: /metrics counts what the service holds.
  metrics.setInventory(() => served.inventory());
  const app = await buildApp({
    service: served,
    metrics,
    ...(options.onRoute && { onRoute: options.onRoute }),
    ...(options.metricsAuth !== undefined && { metricsAuth: options.metricsAuth }),
    ...(options.limits && { limits: options.limits }),
    auth: options.auth === false ? false : { verify: tokens.verify },
    tokens: options.wrapTokens ? options.wrapTokens(tokens) : tokens,
    ...(options.logger && { logger: options.logger }),
    ...(options.ready && { ready: options.ready }),
  });
  const call: Harness['call'] = async (method, url, body) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body !== undefined && { payload: body as object }),
    });
    let json: unknown;
    try {
      json = res.json();
    } catch {
      json = res.body;
    }
    return { status: res.statusCode, json, headers: res.headers };
  };
  return {
    dir,
    store,
    service,
    app,
    metrics,
    network,
    backend,
    datapaths,
    tokens,
    token,
    call,
    close: async () => {
      await app.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The seed's example cloud: 2 gateways (two clouds), 3 compute nodes in 2 AZs, a switch node. */
/** gw-1's floating IPs: 203.0.113.10 to .20 (gw-2 has none). */
export const SEED_FLOATING_IP_POOLS: readonly FloatingIpPool[] = [{ gateway: 'gw-1', outside: '203.0.113.1/24', interface: 'eth1', addresses: ['203.0.113.10-203.0.113.20'] }];

export const SEED_NODES = [
  { name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', az: 'AZ-1', sshTarget: 'root@10.0.0.1' },
  { name: 'gw-2', roles: ['gateway'], underlayIp: '10.0.0.2', az: 'AZ-2', sshTarget: 'root@10.0.0.2' },
  { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 32, memoryMiB: 48 * 1024 },
  { name: 'host-2', roles: ['compute'], underlayIp: '10.0.0.12', az: 'AZ-1', cpus: 32, memoryMiB: 48 * 1024 },
  { name: 'host-3', roles: ['compute'], underlayIp: '10.0.0.13', az: 'AZ-2', cpus: 16, memoryMiB: 32 * 1024 },
  { name: 'switch', roles: ['switch', 'management'], underlayIp: '10.0.0.100' },
] as const;
