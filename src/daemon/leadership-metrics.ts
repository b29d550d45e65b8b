// The leadership metrics, registered next to the others (metrics.ts): whether this controller leads, its
// generation, the OpenFlow role each switch granted us, the etcd round trip, and writes the follower guard refused.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Datapath, RoleKeeper } from '../runtime/index.js';
import type { Leadership } from './leadership.js';

export interface LeadershipMetricsSources {
  readonly leadership: Leadership;
  /** Unset with one controller (no roles: every switch has us as equal). */
  readonly roles?: RoleKeeper;
  readonly datapaths: () => readonly Datapath[];
  readonly nodeOf: (dpid: bigint) => string | undefined;
}

export function registerLeadershipMetrics(registry: Registry, src: LeadershipMetricsSources): void {
  const registers = [registry];
  new Gauge({
    name: 'minicloud_leader',
    help: '1 while this controller is the leader (owns the switches), else 0.',
    registers,
    collect() {
      this.set(src.leadership.state().role === 'leader' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'minicloud_leader_generation',
    help: "The leader's generation (its etcd election key's create revision; the OpenFlow generation id). 0 with SQLite.",
    registers,
    collect() {
      this.set(Number(src.leadership.state().generation));
    },
  });
  new Gauge({
    name: 'minicloud_openflow_role',
    help: "The OpenFlow role a node's switch granted this controller: 1 for the role it has, 0 for the other (equal: one controller, no roles).",
    labelNames: ['node', 'role'],
    registers,
    collect() {
      this.reset();
      for (const dp of src.datapaths()) {
        const node = src.nodeOf(dp.dpid);
        if (node === undefined) continue;
        const role = src.roles ? (src.roles.roleOf(dp) ?? 'none') : 'equal';
        for (const r of ['master', 'slave', 'equal']) this.set({ node, role: r }, r === role ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'minicloud_openflow_writes_refused_total',
    help: 'Syncs the follower guard refused: this controller is not the switch\'s master, so it sent nothing.',
    registers,
    collect() {
      this.reset();
      this.inc(src.roles?.refusedWrites ?? 0);
    },
  });
  const rtt = new Histogram({
    name: 'minicloud_etcd_round_trip_seconds',
    help: 'Round trip of the leadership probe to etcd (a read of the election).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  src.leadership.on('roundTrip', (s) => rtt.observe(s));
}
