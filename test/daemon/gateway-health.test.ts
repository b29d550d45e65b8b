// Gateway health from the switches' events: the disconnect grace, the startup grace, BFD liveness (a session seen up
// and then down; one never up says nothing), and the monitor that runs the failover once per change. The switches are
// an EventEmitter standing in for the runtime's registry (its events are what OVS's PORT_STATUS and connection
// closes become; test/lab/gateway-failover.test.ts has the real ones); the clock is a variable.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { FailoverOutcome, GatewayHealth } from '../../src/cloud/index.js';
import { GatewayHealthTracker, GatewayMonitor, type GatewayFailoverSettings } from '../../src/daemon/gateway-health.js';
import { OFPPS, type Port } from '../../src/openflow/index.js';
import type { Controller, Datapath } from '../../src/runtime/index.js';
import { bfdPortName } from '../../src/topology/model.js';
import type { CloudRecords, NodeRecord } from '../../src/topology/records.js';

const GWS = new Map([
  ['gw1', '10.0.0.1'],
  ['gw2', '10.0.0.2'],
]);
const port = (name: string, state: number, portNo = 7): Port => ({ portNo, hwAddr: '02:00:00:00:00:01', name, config: 0, state, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 });
const LIVE = OFPPS.LIVE;
const BFD_GW1 = bfdPortName('10.0.0.1');

describe('GatewayHealthTracker', () => {
  it('a disconnected gateway is failed once the grace has passed, and not before; reconnecting ends it', () => {
    const t = new GatewayHealthTracker({ disconnectGraceMs: 3000, startupGraceMs: 30_000 });
    t.nodeConnected('gw1', []);
    t.nodeConnected('gw2', []);
    expect([...t.health(GWS, 0).health.failed]).toEqual([]);
    t.nodeDisconnected('gw1', 1000);
    const during = t.health(GWS, 3999);
    expect([...during.health.failed]).toEqual([]);
    expect(during.nextChangeAt).toBe(4000);
    expect(during.health.up('gw1')).toBe(false);
    expect([...t.health(GWS, 4000).health.failed]).toEqual(['gw1']);
    t.nodeConnected('gw1', []);
    expect([...t.health(GWS, 5000).health.failed]).toEqual([]);
  });

  it('a gateway never seen connected is failed the startup grace after it was first known', () => {
    const t = new GatewayHealthTracker({ disconnectGraceMs: 3000, startupGraceMs: 30_000 });
    t.nodeConnected('gw2', []);
    expect(t.health(GWS, 100).nextChangeAt).toBe(30_100);
    expect([...t.health(GWS, 30_099).health.failed]).toEqual([]);
    expect([...t.health(GWS, 30_100).health.failed]).toEqual(['gw1']);
  });

  it('BFD: down only after having been up, per node; a disconnected node says nothing', () => {
    const t = new GatewayHealthTracker({ disconnectGraceMs: 3000, startupGraceMs: 0 });
    for (const g of GWS.keys()) t.nodeConnected(g, []);
    t.nodeConnected('c1', [port(BFD_GW1, 0)]); // just provisioned: never up
    const h = (): GatewayHealth => t.health(GWS, 0).health;
    expect(h().bfdDown('c1', 'gw1')).toBe(false);
    expect(t.portChanged('c1', port(BFD_GW1, LIVE), false)).toBe(true);
    expect(h().bfdDown('c1', 'gw1')).toBe(false);
    expect(t.portChanged('c1', port(BFD_GW1, 0), false)).toBe(true);
    expect(h().bfdDown('c1', 'gw1')).toBe(true);
    expect(h().bfdDown('c2', 'gw1')).toBe(false);
    expect(t.bfdDownPairs(GWS)).toEqual(['c1>gw1']);
    // A port that is not BFD's, or the same state again, is no news.
    expect(t.portChanged('c1', port('vxlan-int', 0, 1), false)).toBe(false);
    expect(t.portChanged('c1', port(BFD_GW1, 0), false)).toBe(false);
    // LINK_DOWN with LIVE is down too.
    t.portChanged('c1', port(BFD_GW1, LIVE), false);
    t.portChanged('c1', port(BFD_GW1, LIVE | OFPPS.LINK_DOWN), false);
    expect(h().bfdDown('c1', 'gw1')).toBe(true);
    t.nodeDisconnected('c1', 0);
    expect(h().bfdDown('c1', 'gw1')).toBe(false);
    // Connected with the session already up counts as seen up.
    t.nodeConnected('c1', [port(BFD_GW1, LIVE)]);
    t.portChanged('c1', port(BFD_GW1, 0), false);
    expect(h().bfdDown('c1', 'gw1')).toBe(true);
    t.portChanged('c1', port(BFD_GW1, 0), true);
    expect(h().bfdDown('c1', 'gw1')).toBe(false);
  });
});

class FakeDatapaths extends EventEmitter {
  readonly connected = new Map<bigint, Datapath>();
  list(): Datapath[] {
    return [...this.connected.values()];
  }
  connect(dpid: bigint, ports: Port[] = []): Datapath {
    const dp = { dpid, ports } as unknown as Datapath;
    this.connected.set(dpid, dp);
    this.emit('connected', dp);
    return dp;
  }
  disconnect(dpid: bigint): void {
    const dp = this.connected.get(dpid)!;
    this.connected.delete(dpid);
    this.emit('disconnected', dp, 'closed');
  }
}

const rec = (name: string, roles: NodeRecord['roles'], underlayIp: string): NodeRecord => ({ name, roles, underlayIp, cpus: 1, memoryMiB: 1, createdAt: 't' });
const RECORDS: CloudRecords = { nodes: [rec('gw1', ['gateway'], '10.0.0.1'), rec('gw2', ['gateway'], '10.0.0.2'), rec('c1', ['compute'], '10.0.0.11')], subnets: [], vms: [] };
const DPIDS = new Map<bigint, string>([
  [1n, 'gw1'],
  [2n, 'gw2'],
  [11n, 'c1'],
]);

function monitor(settings: Partial<GatewayFailoverSettings> = {}) {
  const dps = new FakeDatapaths();
  let now = 0;
  let revision = 1;
  const runs: { failed: string[]; bfdC1Gw1: boolean }[] = [];
  const moved: string[] = [];
  const failedGauge: string[] = [];
  const lines: string[] = [];
  let outcome: FailoverOutcome = { moves: [], stranded: [] };
  const m = new GatewayMonitor({
    controller: { datapaths: dps } as unknown as Pick<Controller, 'datapaths'>,
    nodeOf: (dpid) => DPIDS.get(dpid),
    records: () => RECORDS,
    revision: () => revision,
    failover: {
      run: (h) => {
        runs.push({ failed: [...h.failed], bfdC1Gw1: h.bfdDown('c1', 'gw1') });
        return Promise.resolve(outcome);
      },
    },
    metrics: { gatewayFailovers: (node, reason) => moved.push(`${node}:${reason}`), setGatewayFailed: (node, f) => failedGauge.push(`${node}=${f ? 1 : 0}`) },
    log: { info: (_o: object, msg?: string) => lines.push(`info ${msg}`), warn: (_o: object, msg?: string) => lines.push(`warn ${msg}`), error: (_o: object, msg?: string) => lines.push(`error ${msg}`) } as never,
    settings: { enabled: true, disconnectGraceMs: 3000, startupGraceMs: 10_000, bfd: { enabled: true, intervalMs: 300 }, ...settings },
    tickMs: 3_600_000, // ticks by hand (kick) in this test
    now: () => now,
  });
  return {
    m,
    dps,
    runs,
    moved,
    failedGauge,
    lines,
    set now(v: number) {
      now = v;
    },
    bump: () => revision++,
    setOutcome: (o: FailoverOutcome) => (outcome = o),
  };
}

describe('GatewayMonitor', () => {
  it('runs the failover when the grace ends, once per change, and counts the moves', async () => {
    const x = monitor();
    x.m.start();
    x.dps.connect(1n);
    x.dps.connect(2n);
    x.dps.connect(11n, [port(BFD_GW1, LIVE)]);
    await x.m.settled();
    expect(x.runs).toEqual([]);
    x.now = 1000;
    x.dps.disconnect(1n);
    await x.m.settled();
    expect(x.runs).toEqual([]); // within the grace
    x.now = 4000;
    x.setOutcome({ moves: [{ vm: 'v1', project: 'default', node: 'c1', from: 'gw1', to: 'gw2', reason: 'datapath' }], stranded: [] });
    x.m.kick();
    await x.m.settled();
    expect(x.runs).toEqual([{ failed: ['gw1'], bfdC1Gw1: false }]);
    expect(x.moved).toEqual(['gw1:datapath']);
    expect(x.failedGauge).toEqual(['gw1=1']);
    // Nothing changed: no second run. A new VM (the store's revision) is looked at.
    x.setOutcome({ moves: [], stranded: [] });
    x.m.kick();
    await x.m.settled();
    expect(x.runs.length).toBe(1);
    x.bump();
    x.m.kick();
    await x.m.settled();
    expect(x.runs.length).toBe(2);
    // It comes back: the gauge says so, nothing moves back (the failover is not even asked).
    x.dps.connect(1n);
    await x.m.settled();
    expect(x.failedGauge).toEqual(['gw1=1', 'gw1=0']);
    expect(x.runs.length).toBe(2);
    expect(x.lines).toContain('info gateway back (its datapath reconnected); VMs moved off it stay where they are');
    await x.m.stop();
  });

  it("runs at once on a BFD session going down on a VM's node; stranded VMs are logged once and retried", async () => {
    const x = monitor();
    x.m.start();
    for (const d of [1n, 2n]) x.dps.connect(d);
    x.dps.connect(11n, [port(BFD_GW1, LIVE)]);
    await x.m.settled();
    x.setOutcome({ moves: [], stranded: [{ vm: 'v1', project: 'default', node: 'c1', gateway: 'gw1', reason: 'bfd' }] });
    x.dps.emit('portModified', x.dps.connected.get(11n)!, port(BFD_GW1, 0));
    await x.m.settled();
    expect(x.runs).toEqual([{ failed: [], bfdC1Gw1: true }]);
    x.m.kick();
    await x.m.settled();
    expect(x.runs.length).toBe(2); // stranded: tried again at every tick
    expect(x.lines.filter((l) => l.startsWith('error'))).toHaveLength(1);
    await x.m.stop();
    x.dps.emit('portModified', x.dps.connected.get(11n)!, port(BFD_GW1, LIVE));
    expect(x.dps.listenerCount('portModified')).toBe(0);
  });

  it('does nothing when disabled', async () => {
    const x = monitor({ enabled: false });
    x.m.start();
    x.now = 100_000;
    x.m.kick();
    await x.m.settled();
    expect(x.dps.listenerCount('connected')).toBe(0);
    expect(x.runs).toEqual([]);
  });
});
