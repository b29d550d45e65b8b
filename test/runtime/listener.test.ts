// The listener's rules against scripted hostile peers on loopback (no OVS): the bounds on a whole multipart reply
// (bytes, parts, time), silence detection while a peer drips a frame, listeners that throw, admission (impostor
// datapath ids, same-address takeover, echo probe, pinned addresses) and the connection limits at accept.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OFPBRC, OFPET, OFPHFC, OFPMPF } from '../../src/openflow/consts.js';
import type { Message } from '../../src/openflow/types.js';
import type { RefusalReason } from '../../src/runtime/admission.js';
import { OfConnection, type ConnectionOptions } from '../../src/runtime/connection.js';
import { Controller } from '../../src/runtime/controller.js';
import { DatapathRegistry, type Datapath, type RegistryOptions } from '../../src/runtime/datapaths.js';
import { ReplyLimitError } from '../../src/runtime/errors.js';
import { FakeSwitch, switchLike, type Answer } from './fake-switch.js';
import { until } from '../helpers/wait.js';
import { testLogger, waitForEvent } from './helpers.js';

/** Everything opened by a test, closed after it whatever happened. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A tcp server on 127.0.0.1 whose sockets go to `onSocket`. */
async function serve(onSocket: (s: Socket) => void): Promise<number> {
  const server: Server = createServer(onSocket);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

async function fake(port: number, answer?: Answer, localAddress?: string): Promise<FakeSwitch> {
  const f = await FakeSwitch.open({ port, ...(localAddress && { localAddress }) }, answer);
  cleanups.push(() => f.destroy());
  return f;
}

/** An OfConnection (handshake done) to a fake switch whose other answers come from `more`. */
async function connectionTo(opts: ConnectionOptions, more: Answer = () => undefined): Promise<{ conn: OfConnection; sw: FakeSwitch }> {
  let conn: OfConnection | undefined;
  const port = await serve((s) => (conn = new OfConnection(s, { logger: testLogger(), ...opts })));
  const base = switchLike(0xa1n);
  const sw = await fake(port, (m, s) => {
    base(m, s);
    more(m, s);
  });
  await until(() => conn, 2000, 'accepted');
  cleanups.push(() => conn!.close('test over'));
  await conn!.handshake();
  return { conn: conn!, sw };
}

/** Answers flow-stats requests with an endless series of REPLY_MORE parts of `flowsPerPart` flows, one part every `everyMs`. */
function endlessFlowStats(flowsPerPart: number, everyMs = 0, maxParts = 100_000): Answer {
  const flow = { tableId: 0, durationSec: 0, durationNsec: 0, priority: 1, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [], instructions: [] };
  return (m, sw) => {
    if (m.type !== 'flow_stats_request') return;
    let sent = 0;
    const part = (): void => {
      if (sw.closed || sw.socket.destroyed || sent++ >= maxParts) return;
      sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: OFPMPF.REPLY_MORE, flows: Array.from({ length: flowsPerPart }, (_, i) => ({ ...flow, priority: i })) } as Message);
      if (everyMs > 0) setTimeout(part, everyMs);
      else if (sw.socket.writableLength < 1 << 20) setImmediate(part);
      else sw.socket.once('drain', part);
    };
    part();
  };
}

const overflowError = (sw: FakeSwitch): boolean => sw.errors.some((e) => e.errType === OFPET.BAD_REQUEST && e.code === OFPBRC.MULTIPART_BUFFER_OVERFLOW);

describe('a whole multipart reply is bounded', () => {
  it('in parts: the request fails, the peer is told MULTIPART_BUFFER_OVERFLOW and cut off', async () => {
    const { conn, sw } = await connectionTo({ multipartMaxParts: 50 }, endlessFlowStats(1));
    const err = await conn.flowStats().catch((e: Error) => e);
    expect(err).toBeInstanceOf(ReplyLimitError);
    expect(err).toMatchObject({ limit: 'parts', bound: 50 });
    expect(conn.closed).toBe(true);
    await until(() => overflowError(sw) && sw.closed, 3000, 'peer told and closed');
  });

  it('in bytes, read raw (as sync reads flow tables)', async () => {
    const { conn, sw } = await connectionTo({ multipartMaxBytes: 200_000 }, endlessFlowStats(100));
    let parts = 0;
    const err = await conn
      .multipartRaw({ type: 'flow_stats_request', flags: 0, tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] }, () => void parts++)
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ReplyLimitError', limit: 'bytes', bound: 200_000 });
    // Every part handed over was within the bound: the one that crossed it was not.
    expect(parts * 100 * 56).toBeLessThanOrEqual(200_000);
    expect(conn.closed).toBe(true);
    await until(() => overflowError(sw), 3000, 'peer told');
  });

  it('in time for the whole reply, even when every part comes well within the per-part timeout', async () => {
    const { conn } = await connectionTo({ multipartTimeoutMs: 400, requestTimeoutMs: 5000 }, endlessFlowStats(1, 20));
    const err = await conn.flowStats().catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ReplyLimitError', limit: 'time', bound: 400 });
    expect(conn.closed).toBe(true);
  });

  it('a reply within its bounds is not affected', async () => {
    const { conn } = await connectionTo({ multipartMaxParts: 3 }, (m, sw) => {
      if (m.type !== 'flow_stats_request') return;
      for (const flags of [OFPMPF.REPLY_MORE, OFPMPF.REPLY_MORE, 0]) sw.send({ type: 'flow_stats_reply', xid: m.xid, flags, flows: [] } as Message);
    });
    expect(await conn.flowStats()).toEqual([]);
    expect(await conn.flowStats()).toEqual([]); // bounds are per reply, not per connection
    expect(conn.closed).toBe(false);
  });
});

describe('memory a peer can make us hold during the handshake', () => {
  const port = (portNo: number) => ({ portNo, hwAddr: '02:00:00:00:00:01', name: `p${portNo}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 });

  it('a port description is bounded by what OVS can have (about 4 MiB), not by the general reply bound', async () => {
    const registry = new DatapathRegistry({ logger: testLogger() });
    cleanups.push(() => registry.closeAll());
    const rejected: string[] = [];
    registry.on('rejected', (_peer, err) => rejected.push(err.message));
    const listenPort = await serve((s) => void registry.adopt(s));
    const base = switchLike(0x90n);
    let parts = 0;
    const sw = await fake(listenPort, (m, f) => {
      if (m.type !== 'port_desc_request') return base(m, f);
      const more = (): void => {
        if (f.socket.destroyed || parts++ > 10_000) return;
        f.send({ type: 'port_desc_reply', xid: m.xid, flags: OFPMPF.REPLY_MORE, ports: Array.from({ length: 100 }, (_, i) => port(i + 1)) } as Message);
        setImmediate(more);
      };
      more();
    });
    await until(() => sw.closed, 10_000, 'closed');
    expect(rejected).toEqual([expect.stringMatching(/multipart reply to port_desc_request \(xid \d+\) exceeded 4259840 bytes/)]);
    expect(parts).toBeLessThan(1000); // 4 MiB at 6.4 kB a part
  });

  it('PORT_STATUS messages before the handshake is done are kept only up to a bound', async () => {
    const registry = new DatapathRegistry({ logger: testLogger() });
    cleanups.push(() => registry.closeAll());
    const listenPort = await serve((s) => void registry.adopt(s));
    const sw = await fake(listenPort, (m, f) => {
      if (m.type !== 'hello') return; // never answers FEATURES
      f.send({ type: 'hello', xid: m.xid, version: 4, versions: [4] });
      for (let i = 0; i < 2000 && !f.socket.destroyed; i++) f.send({ type: 'port_status', xid: 0, reason: 0, port: port(i + 1) } as Message);
    });
    await until(() => sw.closed, 5000, 'closed');
    expect(registry.connectionCount).toBe(0);
  });
});

describe('liveness', () => {
  it('a peer dripping a never-ending frame, one byte at a time, is declared dead by the echo timeout', async () => {
    const { conn, sw } = await connectionTo({ echoIntervalMs: 100, echoTimeoutMs: 400 });
    // A header claiming 60000 bytes, then one byte every 30 ms: bytes keep arriving, whole messages never do.
    const header = Buffer.from([4, 0, 0xea, 0x60, 0, 0, 0, 9]);
    sw.socket.write(header);
    let dripped = 0;
    const drip = setInterval(() => {
      if (!sw.socket.destroyed && dripped++ < 500) sw.socket.write(Buffer.from([0]));
    }, 30);
    cleanups.push(() => clearInterval(drip));
    await until(() => conn.closed, 5000, 'dripping peer declared dead');
    expect(conn.closeReason).toMatch(/peer dead/);
    expect(sw.received.some((m) => m.type === 'echo_request')).toBe(true);
  });
});

describe('a peer that sends echo requests and never reads', () => {
  it('does not grow our send queue past a bound', async () => {
    const { conn, sw } = await connectionTo({ echoIntervalMs: 60_000 });
    sw.socket.pause(); // reads nothing from here on
    const data = new Uint8Array(60_000);
    let sent = 0;
    let maxQueued = 0;
    // 2,000 echo requests of 60 kB (120 MB) against 1 MiB of replies at most, plus kernel buffers.
    while (sent < 2000 && !conn.closed) {
      for (let i = 0; i < 50; i++, sent++) sw.send({ type: 'echo_request', xid: 1_000_000 + sent, data } as Message);
      await new Promise((r) => setTimeout(r, 5));
      maxQueued = Math.max(maxQueued, conn.queuedBytes);
    }
    await new Promise((r) => setTimeout(r, 100));
    maxQueued = Math.max(maxQueued, conn.queuedBytes);
    expect(maxQueued).toBeLessThanOrEqual(1024 * 1024 + 60_008);
    expect(conn.closed).toBe(false);
  });
});

describe('exceptions in listeners close that connection only', () => {
  it('a message listener that throws', async () => {
    const { conn, sw } = await connectionTo({});
    conn.on('packetIn', () => {
      throw new Error('listener bug');
    });
    sw.send({ type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 0, reason: 0, tableId: 0, cookie: 0n, match: [], data: new Uint8Array(0) } as Message);
    await until(() => conn.closed, 3000, 'connection closed');
    expect(conn.closeReason).toBe('internal error: listener bug');
    await until(() => sw.closed, 3000, 'peer closed');
  });

  it("a registry 'connected' listener and a 'disconnected' listener that throw; other connections keep working", async () => {
    const registry = new DatapathRegistry({ logger: testLogger() });
    cleanups.push(() => registry.closeAll());
    const port = await serve((s) => void registry.adopt(s));
    const good = await fake(port, switchLike(0xb1n));
    await until(() => registry.get(0xb1n), 3000, 'first datapath');
    registry.on('connected', (dp) => {
      if (dp.dpid === 0xb2n) throw new Error('connected listener bug');
    });
    registry.on('disconnected', () => {
      throw new Error('disconnected listener bug');
    });
    const bad = await fake(port, switchLike(0xb2n));
    await until(() => bad.closed, 3000, 'the connection whose listener threw is closed');
    expect(registry.get(0xb2n)).toBeUndefined();
    // The first datapath is untouched; its own close (with a throwing 'disconnected' listener) is handled too.
    await registry.get(0xb1n)!.connection.barrier();
    good.destroy();
    await until(() => registry.get(0xb1n) === undefined, 3000, 'first datapath gone');
  });
});

describe('an exception in sync', () => {
  it("(a desired-state callback or a 'synced' listener that throws) closes that connection only", async () => {
    const ctl = new Controller({
      listen: ['tcp:127.0.0.1:0'],
      desiredState: (dpid) => {
        if (dpid === 0xf1n) throw new Error('compile bug');
        return { flows: [] };
      },
      logger: testLogger(),
    });
    cleanups.push(() => ctl.stop());
    ctl.on('synced', (dp) => {
      if (dp.dpid === 0xf2n) throw new Error('synced listener bug');
    });
    ctl.on('syncFailed', () => {
      throw new Error('syncFailed listener bug');
    });
    await ctl.start();
    const port = Number(ctl.addresses[0]!.split(':').pop());
    const answer = (dpid: bigint): Answer => (m, sw) => {
      switchLike(dpid)(m, sw);
      if (m.type === 'flow_stats_request') sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: 0, flows: [] } as Message);
    };
    const good = await fake(port, answer(0xf0n));
    const synced = waitForEvent<[Datapath]>(ctl, 'synced', (dp) => dp.dpid === 0xf0n);
    const bad = await fake(port, answer(0xf1n));
    const badListener = await fake(port, answer(0xf2n));
    await synced;
    await until(() => bad.closed && badListener.closed, 5000, 'the connections whose sync threw closed');
    expect(good.closed).toBe(false);
    await ctl.datapaths.get(0xf0n)!.connection.barrier();
  });
});

describe('admission', () => {
  const registryOn = async (opts: Omit<RegistryOptions, 'logger'> = {}): Promise<{ registry: DatapathRegistry; port: number; refused: [string, RefusalReason][] }> => {
    const registry = new DatapathRegistry({ logger: testLogger(), ...opts });
    cleanups.push(() => registry.closeAll());
    const refused: [string, RefusalReason][] = [];
    registry.on('refused', (peer, reason) => refused.push([peer, reason]));
    const port = await serve((s) => void registry.adopt(s));
    return { registry, port, refused };
  };

  it('refuses a second connection from another address claiming a live datapath id, with HELLO_FAILED/EPERM', async () => {
    const { registry, port, refused } = await registryOn();
    await fake(port, switchLike(0xc1n), '127.0.0.1');
    const live = await until(() => registry.get(0xc1n), 3000, 'live datapath');
    const impostor = await fake(port, switchLike(0xc1n), '127.0.0.2');
    await until(() => impostor.closed, 5000, 'impostor closed');
    const err = impostor.errors.find((e) => e.errType === OFPET.HELLO_FAILED && e.code === OFPHFC.EPERM);
    expect(new TextDecoder().decode(err?.data)).toBe('datapath id 00000000000000c1 is in use by a live connection');
    expect(refused).toEqual([[expect.stringMatching(/^127\.0\.0\.2:\d+$/), 'dpid_in_use']]);
    expect(registry.get(0xc1n)).toBe(live);
    await live.connection.barrier();
  });

  it('lets a connection from the same address take over at once (OVS reconnecting before we saw the old one die)', async () => {
    const { registry, port, refused } = await registryOn({ admission: { takeoverProbeMs: 60_000 } });
    await fake(port, switchLike(0xc2n));
    const old = await until(() => registry.get(0xc2n), 3000, 'first connection');
    const t0 = Date.now();
    await fake(port, switchLike(0xc2n));
    const fresh = await until(() => (registry.get(0xc2n) !== old ? registry.get(0xc2n) : undefined), 5000, 'takeover');
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 60 s probe: no probe at all
    expect(old.connection.closed).toBe(true);
    expect(fresh!.connection.closed).toBe(false);
    expect(refused).toEqual([]);
  });

  it('lets a connection from another address take over when the current one no longer answers echoes', async () => {
    const { registry, port, refused } = await registryOn({ admission: { takeoverProbeMs: 300 } });
    await fake(port, switchLike(0xc3n, { echo: false }), '127.0.0.1');
    const old = await until(() => registry.get(0xc3n), 3000, 'first connection');
    await fake(port, switchLike(0xc3n), '127.0.0.3');
    await until(() => registry.get(0xc3n) !== old && registry.get(0xc3n), 5000, 'takeover after the probe');
    expect(old.connection.closed).toBe(true);
    expect(refused).toEqual([]);
  });

  it('with pinned addresses, a datapath id is admitted only from its own', async () => {
    const { registry, port, refused } = await registryOn({ admission: { pinnedAddresses: (dpid) => (dpid === 0xc4n ? ['127.0.0.4'] : undefined) } });
    const wrong = await fake(port, switchLike(0xc4n), '127.0.0.1');
    await until(() => wrong.closed, 3000, 'wrong address refused');
    expect(new TextDecoder().decode(wrong.errors[0]?.data)).toBe('datapath id 00000000000000c4 may not connect from this address');
    expect(refused.map(([, r]) => r)).toEqual(['address_not_pinned']);
    await fake(port, switchLike(0xc4n), '127.0.0.4');
    await until(() => registry.get(0xc4n), 3000, 'pinned address admitted');
    await fake(port, switchLike(0xc5n), '127.0.0.1'); // not pinned at all
    await until(() => registry.get(0xc5n), 3000, 'unpinned datapath admitted');
  });
});

describe('connection limits at accept', () => {
  it('refuses connections over maxPendingPerAddress from one address and over maxConnections in all', async () => {
    const registry = new DatapathRegistry({ logger: testLogger(), limits: { maxConnections: 6, maxPendingPerAddress: 3 }, connection: { helloTimeoutMs: 30_000 } });
    cleanups.push(() => registry.closeAll());
    const refused: RefusalReason[] = [];
    registry.on('refused', (_peer, reason) => refused.push(reason));
    const port = await serve((s) => void registry.adopt(s));
    const silent = async (from: string): Promise<FakeSwitch> => fake(port, undefined, from);
    const a = [await silent('127.0.0.5'), await silent('127.0.0.5'), await silent('127.0.0.5')];
    await until(() => registry.connectionCount === 3, 3000, 'three pending');
    const fourth = await silent('127.0.0.5');
    await until(() => fourth.closed, 3000, 'fourth from one address refused');
    expect(fourth.errors.map((e) => new TextDecoder().decode(e.data))).toEqual(['too many OpenFlow connections from this address still in their handshake']);
    // Another address still gets in, up to the total.
    const b = [await silent('127.0.0.6'), await silent('127.0.0.6'), await silent('127.0.0.7')];
    await until(() => registry.connectionCount === 6, 3000, 'six open');
    const seventh = await silent('127.0.0.8');
    await until(() => seventh.closed, 3000, 'seventh refused');
    expect(refused).toEqual(['max_pending_per_address', 'max_connections']);
    expect([...a, ...b].every((f) => !f.closed)).toBe(true);
    // A finished handshake no longer counts against its address.
    a[0]!.destroy();
    await until(() => registry.connectionCount === 5, 3000, 'one gone');
    await fake(port, switchLike(0xd5n), '127.0.0.5');
    await until(() => registry.get(0xd5n), 3000, 'admitted after room was made');
    await fake(port, undefined, '127.0.0.5').then((f) => until(() => f.closed, 3000, 'total reached again'));
  });
});

describe('datapath ids of no node', () => {
  it('are admitted up to maxUnknown at once; the nodes\' datapaths always', async () => {
    const ctl = new Controller({
      listen: ['tcp:127.0.0.1:0'],
      manages: (dpid) => dpid === 0x70n,
      desiredState: () => ({ flows: [] }),
      registry: { admission: { maxUnknown: 2 } },
      logger: testLogger(),
    });
    cleanups.push(() => ctl.stop());
    const refused: string[] = [];
    ctl.datapaths.on('refused', (_peer, reason) => refused.push(reason));
    await ctl.start();
    const port = Number(ctl.addresses[0]!.split(':').pop());
    await fake(port, switchLike(0x71n));
    await fake(port, switchLike(0x72n));
    await until(() => ctl.datapaths.size === 2, 3000, 'two unknown admitted');
    const third = await fake(port, switchLike(0x73n));
    await until(() => third.closed, 3000, 'third unknown refused');
    expect(new TextDecoder().decode(third.errors[0]?.data)).toBe('datapath id 0000000000000073 belongs to no node and too many such datapaths are connected');
    expect(refused).toEqual(['max_unknown_datapaths']);
    await fake(port, switchLike(0x70n));
    await until(() => ctl.datapaths.get(0x70n), 3000, "the node's datapath admitted");
  });
});

describe('datapaths without a desired state', () => {
  let ctl: Controller;
  let port: number;
  const synced: Datapath[] = [];
  const managed = new Set<bigint>();

  beforeAll(async () => {
    ctl = new Controller({ listen: ['tcp:127.0.0.1:0'], manages: (dpid) => managed.has(dpid), desiredState: () => ({ flows: [] }), logger: testLogger() });
    ctl.on('synced', (dp) => synced.push(dp));
    await ctl.start();
    port = Number(ctl.addresses[0]!.split(':').pop());
  });
  afterAll(async () => {
    await ctl?.stop();
  });

  it('stay connected but are not synced (no flow table read, no sync slot) until asked', async () => {
    const sw = await fake(port, switchLike(0xe1n));
    const dp = await until(() => ctl.datapaths.get(0xe1n), 3000, 'connected');
    await dp.connection.barrier();
    await new Promise((r) => setTimeout(r, 200));
    expect(sw.received.some((m) => m.type === 'flow_stats_request')).toBe(false);
    expect(synced).toEqual([]);
    // Its node was added: the apply resyncs it explicitly.
    managed.add(0xe1n);
    sw.answer = (m, s) => {
      switchLike(0xe1n)(m, s);
      if (m.type === 'flow_stats_request') s.send({ type: 'flow_stats_reply', xid: m.xid, flags: 0, flows: [] } as Message);
    };
    const done = waitForEvent(ctl, 'synced');
    await ctl.resync(0xe1n, { source: 'cache' });
    await done;
    expect(synced).toEqual([dp]);
  });
});
