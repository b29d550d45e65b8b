// A sync stops reading a switch while reply parts wait to be compared (OfConnection.pauseReading). The time it does
// not read must not count as the switch's silence: a reply whose parts wait unread in the socket for longer than the
// request's timeout completes once reading resumes, and the keepalive does not call the switch dead meanwhile.
// Fake switch over a unix socket: no OVS needed.
import { afterEach, describe, expect, it } from 'vitest';
import { OFPMPF } from '../../src/openflow/consts.js';
import type { Message } from '../../src/openflow/types.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import { until } from '../helpers/wait.js';
import { FakeSwitch, switchLike } from './fake-switch.js';
import { cleanupSocket, socketPath, testLogger } from './helpers.js';

const DPID = 0x6d63737000000001n;
const PARTS = 6;

describe('pausing a connection while reply parts wait', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('does not time the request out, nor declare the peer dead, for the time it did not read', async () => {
    const sock = socketPath('readpause');
    const ctl = new Controller({
      listen: [`unix:${sock}`],
      manages: () => false, // connected, never synced: the test drives the connection itself
      desiredState: () => ({ flows: [] }),
      connection: { echoIntervalMs: 100, echoTimeoutMs: 300 },
      logger: testLogger(),
    });
    cleanup.push(() => cleanupSocket(sock));
    cleanup.push(() => ctl.stop());
    await ctl.start();
    const connected = new Promise<Datapath>((resolve) => ctl.datapaths.once('connected', resolve));
    const base = switchLike(DPID);
    const sw = await FakeSwitch.open({ path: sock }, (m: Message, s) => {
      // A part every 20 ms (each in a read of its own): they wait in the socket while the controller does not read.
      if (m.type === 'flow_stats_request') {
        for (let i = 0; i < PARTS; i++) {
          setTimeout(() => s.send({ type: 'flow_stats_reply', xid: m.xid, flags: i < PARTS - 1 ? OFPMPF.REPLY_MORE : 0, flows: [] } as Message), 20 * i);
        }
      } else base(m, s);
    });
    cleanup.push(() => sw.destroy());
    sw.send({ type: 'hello', xid: 1, version: 4, versions: [4] });
    const conn = (await connected).connection;

    let parts = 0;
    const reply = conn.multipartRaw(
      { type: 'flow_stats_request', flags: 0, tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] },
      () => {
        parts++;
        conn.pauseReading();
      },
      { timeoutMs: 200 },
    );
    let settled: string | undefined;
    reply.then(() => (settled = 'done'), (e: Error) => (settled = e.message));
    await until(() => parts > 0 || undefined, 10_000, 'the first part');
    // Paused for 5x the request timeout and 3x the echo timeout.
    await new Promise((r) => setTimeout(r, 1000));
    expect(settled).toBeUndefined();
    expect(conn.closed).toBe(false);
    // One part at a time, as a sync compares them.
    while (settled === undefined && parts < PARTS) {
      const had = parts;
      conn.resumeReading();
      await until(() => parts > had || settled !== undefined || undefined, 10_000, 'the next part');
    }
    conn.resumeReading();
    await until(() => settled, 10_000, 'the reply');
    expect(settled).toBe('done');
    expect(parts).toBe(PARTS);
    expect(conn.closed).toBe(false);
  }, 30_000);
});
