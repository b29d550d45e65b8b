// Many switches connecting at once (namespace prefix mch-t): every one is handshaken on its first connection
// (OVS never gave up on a HELLO of ours) and synced to exactly its desired flows; and the two pieces that make
// it so, the TurnGate (sync work gives way to connecting switches) and the JobQueue (bounded full syncs).
// Timings are printed, not asserted (bench/connect-storm.ts measures them).
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, TurnGate } from '../../src/runtime/turns.js';
import { percentile, StormLab, type SwitchTimes } from './storm.js';

const SWITCHES = 100;
const BASE = '/tmp/mch-test';

describe('a connect storm', () => {
  let lab: StormLab | undefined;

  beforeAll(async () => {
    rmSync(BASE, { recursive: true, force: true });
    lab = await StormLab.start({ prefix: 'mch-t', baseDir: BASE, maxSwitches: SWITCHES });
  }, 60_000);

  afterAll(async () => {
    await lab?.stop();
    rmSync(BASE, { recursive: true, force: true });
  }, 60_000);

  it(`handshakes ${SWITCHES} switches connecting at once on their first connection and syncs every one exactly`, async () => {
    const r = await lab!.storm({ switches: SWITCHES, flowsPerSwitch: 64 }, 'all');
    const p = (f: (s: SwitchTimes) => number, q: number): number => Math.round(percentile(r.switches.map(f), q));
    console.log(
      `connect storm: ${SWITCHES} switches, HELLO sent p50 ${p((s) => s.hello, 50)} ms max ${p((s) => s.hello, 100)} ms after OVS connected, ` +
        `handshake done p50 ${p((s) => s.handshake, 50)} ms, first sync p50 ${p((s) => s.synced, 50)} ms max ${p((s) => s.synced, 100)} ms; ` +
        `all synced ${Math.round(r.allSyncedMs)} ms after the transactions; event loop stalled up to ${Math.round(r.loopMaxMs)} ms; ` +
        `${r.flowMods} flow-mods; OVS timeouts ${r.ovsTimeouts}; other OVS connection events ${JSON.stringify(r.ovsOther)}`,
    );
    expect(r.switches).toHaveLength(SWITCHES);
    expect(r.ovsTimeouts).toBe(0);
    expect(r.rejected).toBe(0);
    expect(r.switches.filter((s) => s.attempts !== 1).map((s) => s.bridge)).toEqual([]);
    expect(r.flowMods).toBe(SWITCHES * 64);
  }, 90_000);
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TurnGate', () => {
  it('lets waiters through in order, as many per event-loop turn as its budget allows', async () => {
    const roomy = new TurnGate(1000);
    const passed: number[] = [];
    const waiting = [0, 1, 2, 3].map((i) => roomy.pass().then(() => passed.push(i)));
    await turn();
    expect(passed).toEqual([0, 1, 2, 3]);
    await Promise.all(waiting);

    const gate = new TurnGate(0); // no budget: one per turn
    const order: string[] = [];
    const all = ['a', 'b', 'c'].map((x) => gate.pass().then(() => order.push(x)));
    await turn();
    expect(order).toEqual(['a']);
    await turn();
    expect(order).toEqual(['a', 'b']);
    await Promise.all(all);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('copes with waiters that come straight back for their next chunk', async () => {
    const gate = new TurnGate(1000);
    let chunks = 0;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await gate.pass();
        chunks++;
      }
    };
    await Promise.all([worker(), worker()]);
    expect(chunks).toBe(10);
    // The turn scheduled for a waiter that was let through earlier finds nobody waiting; the gate must not be left
    // thinking a turn is still scheduled: a later waiter still gets through within a couple of turns.
    await turn();
    await turn();
    let passed = false;
    void gate.pass().then(() => (passed = true));
    for (let i = 0; i < 3 && !passed; i++) await turn();
    expect(passed).toBe(true);
  });

  it('lets nobody through in a turn in which a connection arrived, for at most maxDeferMs', async () => {
    const gate = new TurnGate(10, 50);
    let passed = false;
    void gate.pass().then(() => (passed = true));
    const t0 = performance.now();
    // A connection in every turn (as during a storm): the waiter still gets through after maxDeferMs.
    while (!passed && performance.now() - t0 < 2000) {
      gate.noteConnection();
      await turn();
    }
    expect(passed).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
    // One connection, then quiet: through on the next turn.
    passed = false;
    void gate.pass().then(() => (passed = true));
    gate.noteConnection();
    await turn();
    expect(passed).toBe(false);
    await turn();
    await turn();
    expect(passed).toBe(true);
  });
});

describe('JobQueue', () => {
  it('runs at most max jobs at once, in arrival order, and passes a failed job’s slot on', async () => {
    const q = new JobQueue(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const job = (i: number) => async (): Promise<number> => {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (i === 1) throw new Error('job 1 fails');
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => q.run(job(i))));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(q.running).toBe(0);
    expect(q.waiting).toBe(0);
  });

  it('runs everything at once when unbounded', async () => {
    const q = new JobQueue(Infinity);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        q.run(async () => {
          most = Math.max(most, ++running);
          await turn();
          running--;
        }),
      ),
    );
    expect(most).toBe(20);
  });
});
