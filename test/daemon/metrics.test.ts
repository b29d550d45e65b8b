// /metrics: every metric exercised, the scrape passes `promtool check metrics`, switch counters stay monotonic,
// label sets stay bounded (series of removed VMs, subnets and nodes go away).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics, type PortCounters } from '../../src/daemon/metrics.js';
import { NODE_PROVISIONING_STATES, type NodeProvisioningSample } from '../../src/daemon/node-provisioning.js';
import { StatsPoller, type PortStats, type StatsSource } from '../../src/daemon/stats-poller.js';
import { makeHarness, type Harness } from '../api/harness.js';
import { promtoolAvailable, promtoolProblems } from '../api/promtool.js';

const zero: PortCounters = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxDropped: 0, txDropped: 0, rxErrors: 0, txErrors: 0 };

function value(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A switch per node whose VM-port counters the test sets. */
class FakeStats implements StatsSource {
  readonly ports = new Map<string, PortStats[]>();
  readonly down = new Set<string>();
  failing = new Set<string>();
  async portStats(node: string): Promise<PortStats[] | undefined> {
    if (this.failing.has(node)) throw new Error('multipart reply timed out');
    return this.down.has(node) ? undefined : (this.ports.get(node) ?? []);
  }
  async tableStats(node: string) {
    return this.down.has(node) ? undefined : [{ table: 0, flows: 3, lookups: 10, matched: 9, flowPackets: 9, flowBytes: 900 }];
  }
}

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
  await h.call('POST', '/api/v1/nodes', { name: 'gw', roles: ['gateway'], underlayIp: '10.0.0.1' });
  await h.call('POST', '/api/v1/nodes', { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 8, memoryMiB: 8192 });
  await h.call('POST', '/api/v1/nodes', { name: 'host-2', roles: ['compute'], underlayIp: '10.0.0.12', cpus: 8, memoryMiB: 8192 });
  await h.call('POST', '/api/v1/subnets', { name: 'a' });
  await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'tiny', image: 'img', node: 'host-1' });
  await h.call('POST', '/api/v1/vms', { name: 'v2', subnet: 'a', flavor: 'tiny', image: 'img', node: 'host-1' });
});
afterEach(() => h.close());

const scrape = async (): Promise<string> => (await h.app.inject({ url: '/metrics' })).body;

describe('metrics', () => {
  it('promtool is installed (Debian package prometheus)', () => {
    expect(promtoolAvailable(), 'apt-get install prometheus').toBe(true);
  });

  it('a scrape with every metric in use passes promtool check metrics', async () => {
    const m = createMetrics(); // with the Node.js process metrics
    m.datapathConnected('host-1');
    m.datapathConnected('host-2');
    m.datapathDisconnected('host-2');
    m.flowModsSent('host-1', 120);
    m.bundleSent('host-1');
    m.error('openflow');
    m.error('something we never heard of');
    m.observeResync('host-1', 0.25, 120);
    m.observeEchoRoundTrip('host-1', 0.0007);
    m.observeApiRequest('POST', '/api/v1/vms', 201, 0.03);
    m.recordVmPort({ vm: 'v1', subnet: 'a', node: 'host-1' }, { ...zero, rxPackets: 5, rxBytes: 500 });
    m.recordTables('host-1', [{ table: 10, flows: 7, lookups: 50, matched: 40, flowPackets: 40, flowBytes: 4000 }]);
    m.statsPolled('host-1', 'ok');
    m.setInventory(() => ({ vmsByState: { running: 1 }, nodesByRole: { compute: 1 }, subnets: [{ name: 'a', free: 28, used: 1 }] }));
    m.setProvisioning(() => [{ node: 'host-1', state: 'failed', failures: 2 }]);
    const text = await m.render();
    expect(promtoolProblems(text)).toEqual([]);
    expect(value(text, 'minicloud_datapaths_connected')).toBe(1);
    expect(value(text, 'minicloud_datapath_up{node="host-2"}')).toBe(0);
    expect(value(text, 'minicloud_errors_total{type="other"}')).toBe(1);
    expect(value(text, 'minicloud_resync_flow_mods_count{node="host-1"}')).toBe(1);
    expect(text).toContain('minicloud_process_resident_memory_bytes');
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) {
      const [, , name, type] = line.split(' ');
      expect(name!.startsWith('minicloud_'), name).toBe(true);
      if (type === 'counter') expect(name!.endsWith('_total'), name).toBe(true);
    }
  });

  it("node provisioning: one series per state (1 for the node's, 0 for the others) and its failures; gone with the node", async () => {
    const m = createMetrics({ processMetrics: false });
    let samples: NodeProvisioningSample[] = [
      { node: 'gw', state: 'ready', failures: 0 },
      { node: 'old', state: 'removing', failures: 3 },
    ];
    m.setProvisioning(() => samples);
    let text = await m.render();
    const states = (node: string): Record<string, number | undefined> =>
      Object.fromEntries(NODE_PROVISIONING_STATES.map((state) => [state, value(text, `minicloud_node_provisioning{node="${node}",state="${state}"}`)]));
    expect(states('gw')).toEqual({ provisioning: 0, ready: 1, waiting: 0, failed: 0, removing: 0 });
    expect(states('old')).toEqual({ provisioning: 0, ready: 0, waiting: 0, failed: 0, removing: 1 });
    expect(value(text, 'minicloud_node_provisioning_failures_total{node="gw"}')).toBe(0);
    expect(value(text, 'minicloud_node_provisioning_failures_total{node="old"}')).toBe(3);
    expect(promtoolProblems(text)).toEqual([]);

    samples = [{ node: 'gw', state: 'failed', failures: 1 }]; // old: its removal went through
    text = await m.render();
    expect(states('gw')).toMatchObject({ ready: 0, failed: 1 });
    expect(value(text, 'minicloud_node_provisioning_failures_total{node="gw"}')).toBe(1);
    expect(text).not.toContain('node="old"');
  });

  it('API request durations are labelled by route pattern, never by raw URL', async () => {
    await h.call('GET', '/api/v1/vms/v1');
    await h.call('GET', '/api/v1/vms/nope');
    await h.call('GET', '/api/v1/no/such/route/123');
    const text = await scrape();
    expect(value(text, 'minicloud_api_request_duration_seconds_count{method="GET",route="/api/v1/vms/:name",status_code="200"}')).toBe(1);
    expect(value(text, 'minicloud_api_request_duration_seconds_count{method="GET",route="/api/v1/vms/:name",status_code="404"}')).toBe(1);
    expect(text).not.toContain('/api/v1/no/such');
    expect(text).toContain('route="unmatched"');
    expect(promtoolProblems(text)).toEqual([]);
  });

  it('polled switch counters become monotonic counters with per-subnet and per-node rollups', async () => {
    const stats = new FakeStats();
    const [v1, v2] = h.service.listVms();
    stats.ports.set('host-1', [
      { ...zero, name: v1!.port, rxPackets: 100, rxBytes: 10_000 },
      { ...zero, name: v2!.port, rxPackets: 50, rxBytes: 5_000 },
      { ...zero, name: 'vxlan-int', rxPackets: 999 }, // not a VM port: no series
    ]);
    const poller = new StatsPoller({ source: stats, metrics: h.metrics, cloud: () => h.service.cloud() });
    await poller.pollOnce();
    let text = await scrape();
    expect(value(text, 'minicloud_vm_packets_total{vm="v1",subnet="a",node="host-1",direction="rx"}')).toBe(100);
    expect(value(text, 'minicloud_subnet_packets_total{subnet="a",direction="rx"}')).toBe(150);
    expect(value(text, 'minicloud_node_vm_bytes_total{node="host-1",direction="rx"}')).toBe(15_000);
    expect(value(text, 'minicloud_table_lookups_total{node="host-1",table="0"}')).toBe(10);

    // The switch restarts: its counters start again from zero. Ours keep going up.
    stats.ports.set('host-1', [
      { ...zero, name: v1!.port, rxPackets: 7 },
      { ...zero, name: v2!.port, rxPackets: 60 },
    ]);
    await poller.pollOnce();
    text = await scrape();
    expect(value(text, 'minicloud_vm_packets_total{vm="v1",subnet="a",node="host-1",direction="rx"}')).toBe(107);
    expect(value(text, 'minicloud_vm_packets_total{vm="v2",subnet="a",node="host-1",direction="rx"}')).toBe(60);
    expect(value(text, 'minicloud_subnet_packets_total{subnet="a",direction="rx"}')).toBe(167);
    expect(promtoolProblems(text)).toEqual([]);
  });

  it('series of deleted VMs, subnets and nodes go away', async () => {
    const stats = new FakeStats();
    const ports = () => h.service.listVms({ node: 'host-1' }).map((v) => ({ ...zero, name: v.port, txPackets: 1 }));
    stats.ports.set('host-1', ports());
    const poller = new StatsPoller({ source: stats, metrics: h.metrics, cloud: () => h.service.cloud() });
    h.metrics.datapathConnected('host-2');
    await poller.pollOnce();
    expect(await scrape()).toContain('vm="v2"');

    await h.call('DELETE', '/api/v1/vms/v2');
    stats.ports.set('host-1', ports());
    await poller.pollOnce();
    let text = await scrape();
    expect(text).toContain('vm="v1"');
    expect(text).not.toContain('vm="v2"');

    await h.call('DELETE', '/api/v1/vms/v1');
    await h.call('DELETE', '/api/v1/subnets/a');
    await h.call('DELETE', '/api/v1/nodes/host-2');
    await poller.pollOnce();
    text = await scrape();
    expect(text).not.toMatch(/vm="/);
    expect(text).not.toContain('subnet="a"');
    expect(text).not.toContain('node="host-2"');
    expect(promtoolProblems(text)).toEqual([]);
  });

  it('a node that is down or failing is counted, not fatal', async () => {
    const stats = new FakeStats();
    stats.down.add('host-2');
    stats.failing.add('gw');
    const errors: string[] = [];
    await new StatsPoller({ source: stats, metrics: h.metrics, cloud: () => h.service.cloud(), onError: (n) => errors.push(n) }).pollOnce();
    const text = await scrape();
    expect(value(text, 'minicloud_stats_polls_total{node="host-2",result="not_connected"}')).toBe(1);
    expect(value(text, 'minicloud_stats_polls_total{node="gw",result="failed"}')).toBe(1);
    expect(value(text, 'minicloud_stats_polls_total{node="host-1",result="ok"}')).toBe(1);
    expect(errors).toEqual(['gw']);
  });

  it('the poller polls on its interval and stops cleanly', async () => {
    let polls = 0;
    const source: StatsSource = {
      portStats: async () => {
        polls++;
        return [];
      },
      tableStats: async () => [],
    };
    const poller = new StatsPoller({ source, metrics: h.metrics, cloud: () => h.service.cloud(), intervalMs: 20 });
    poller.start();
    await new Promise((r) => setTimeout(r, 150));
    await poller.stop();
    const after = polls;
    expect(after).toBeGreaterThanOrEqual(2 * 3); // 3 nodes, at least two rounds
    await new Promise((r) => setTimeout(r, 50));
    expect(polls).toBe(after);
  });
});
