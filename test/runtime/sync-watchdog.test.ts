// A sync that never ends (here: a desired-state callback that never answers) must not hold its slot for ever: with
// one slot, every switch behind it would never be synced. The watchdog closes the stuck switch's connection (it
// reconnects and is synced afresh) and hands the slot on. Fake switches over a unix socket: no OVS needed.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/openflow/types.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import { SyncTimeoutError } from '../../src/runtime/errors.js';
import type { DesiredState } from '../../src/runtime/sync.js';
import { withSyncWatchdog } from '../../src/runtime/sync-watchdog.js';
import { until } from '../helpers/wait.js';
import { FakeSwitch, switchLike, type Answer } from './fake-switch.js';
import { cleanupSocket, socketPath, testLogger } from './helpers.js';

const STUCK = 0x6d63737700000001n;
const NEXT = 0x6d63737700000002n;

/** A switch with an empty flow table: the handshake, barriers, and an empty flow-stats reply. */
const emptySwitch = (dpid: bigint): Answer => {
  const base = switchLike(dpid);
  return (m, sw) => {
    if (m.type === 'flow_stats_request') sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: 0, flows: [] } as Message);
    else base(m, sw);
  };
};

describe('the sync watchdog', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('closes the connection of a sync that holds the only slot for ever, and the next switch is synced', async () => {
    const sock = socketPath('watchdog');
    let stuckCalls = 0;
    const ctl = new Controller({
      listen: [`unix:${sock}`],
      desiredState: (dpid): DesiredState | Promise<DesiredState> => {
        if (dpid === STUCK && ++stuckCalls === 1) return new Promise<DesiredState>(() => undefined); // never answers
        return { flows: [] };
      },
      maxConcurrentSyncs: 1,
      syncTimeoutMs: 400,
      logger: testLogger(),
    });
    cleanup.push(() => cleanupSocket(sock));
    cleanup.push(() => ctl.stop());
    const synced: bigint[] = [];
    const failed: Error[] = [];
    ctl.on('synced', (dp: Datapath) => synced.push(dp.dpid));
    ctl.on('syncFailed', (_dp, err) => failed.push(err));
    await ctl.start();

    const stuck = await FakeSwitch.open({ path: sock }, emptySwitch(STUCK));
    cleanup.push(() => stuck.destroy());
    stuck.send({ type: 'hello', xid: 1, version: 4, versions: [4] });
    await until(() => stuckCalls === 1 || undefined, 10_000, 'the first sync asking for its desired state');
    const next = await FakeSwitch.open({ path: sock }, emptySwitch(NEXT));
    cleanup.push(() => next.destroy());
    next.send({ type: 'hello', xid: 1, version: 4, versions: [4] });

    await until(() => synced.includes(NEXT) || undefined, 20_000, 'the switch queued behind the stuck sync synced');
    expect(stuck.closed).toBe(true);
    expect(failed.some((e) => e instanceof SyncTimeoutError && e.message.includes('stuck'))).toBe(true);

    // The stuck switch comes back (as OVS reconnects) and is synced this time.
    const again = await FakeSwitch.open({ path: sock }, emptySwitch(STUCK));
    cleanup.push(() => again.destroy());
    again.send({ type: 'hello', xid: 1, version: 4, versions: [4] });
    await until(() => synced.includes(STUCK) || undefined, 20_000, 'the reconnected switch synced');
  }, 60_000);

  it('leaves a job that ends in time alone, and turns itself off for 0 and Infinity', async () => {
    let closed = 0;
    const conn = { label: 'x', close: () => void closed++ } as unknown as Parameters<typeof withSyncWatchdog>[0];
    await expect(withSyncWatchdog(conn, async () => 7, 1000)).resolves.toBe(7);
    await expect(withSyncWatchdog(conn, () => new Promise((r) => setTimeout(() => r(8), 30)), Infinity)).resolves.toBe(8);
    await expect(withSyncWatchdog(conn, () => new Promise((r) => setTimeout(() => r(9), 30)), 0)).resolves.toBe(9);
    await expect(withSyncWatchdog(conn, () => Promise.reject(new Error('own failure')), 1000)).rejects.toThrow('own failure');
    expect(closed).toBe(0);
    await expect(withSyncWatchdog(conn, () => new Promise(() => undefined), 20)).rejects.toBeInstanceOf(SyncTimeoutError);
    expect(closed).toBe(1);
  });
});
