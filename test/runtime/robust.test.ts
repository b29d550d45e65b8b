// Broken and hostile peers are cut off one by one while a real switch on the same controller keeps working.
// Fake switches are raw unix sockets speaking (or not) OpenFlow with the codec's own encoder.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { OFPBRC, OFPET, OFPMPF, OFPP } from '../../src/openflow/consts.js';
import { FrameSplitter } from '../../src/openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import type { Message } from '../../src/openflow/types.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import { RequestTimeoutError, SendQueueFullError } from '../../src/runtime/errors.js';
import { until } from '../helpers/wait.js';
import { cleanupSocket, flows, flowSummaries, socketPath, startNode, testLogger, waitForEvent } from './helpers.js';

/** A scripted fake switch: collects what the controller sends; `answer` decides replies. */
class FakeSwitch {
  readonly received: Message[] = [];
  closed = false;
  private readonly frames = new FrameSplitter();

  constructor(
    readonly socket: Socket,
    public answer: (m: Message, sw: FakeSwitch) => void = () => undefined,
  ) {
    socket.on('data', (chunk) => {
      for (const f of this.frames.push(chunk)) {
        const m = decodeMessage(f);
        this.received.push(m);
        this.answer(m, this);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static open(path: string, answer?: (m: Message, sw: FakeSwitch) => void): Promise<FakeSwitch> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new FakeSwitch(s, answer)));
      s.once('error', reject);
    });
  }

  send(m: Message): void {
    this.socket.write(encodeMessage(m));
  }
}

/** Answers the handshake like a minimal OVS would (datapath `dpid`, one port), and echoes. */
function switchLike(dpid: bigint): (m: Message, sw: FakeSwitch) => void {
  return (m, sw) => {
    if (m.type === 'hello') sw.send({ type: 'hello', xid: m.xid, version: 4, versions: [4] });
    else if (m.type === 'features_request') sw.send({ type: 'features_reply', xid: m.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
    else if (m.type === 'port_desc_request') sw.send({ type: 'port_desc_reply', xid: m.xid, flags: 0, ports: [] });
    else if (m.type === 'barrier_request') sw.send({ type: 'barrier_reply', xid: m.xid });
    else if (m.type === 'echo_request') sw.send({ type: 'echo_reply', xid: m.xid, data: m.data });
  };
}

const header = (type: number, length: number, xid = 1): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt8(4, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
};

describe('hostile and broken peers', () => {
  let ovs: OvsInstance;
  let ctl: Controller;
  let real: Datapath;
  const sock = socketPath('robust');
  const fakes: FakeSwitch[] = [];

  beforeAll(async () => {
    ovs = await startNode('rt-robust', { br0: { protocols: ['OpenFlow13'], datapathId: '0000000000000c01' } });
    ctl = new Controller({
      listen: [`unix:${sock}`],
      desiredState: () => ({ flows: flows('table=0,priority=1,actions=drop') }),
      connection: { helloTimeoutMs: 400, echoIntervalMs: 200, echoTimeoutMs: 600, maxMessageLength: 4096, maxQueueBytes: 64 * 1024, requestTimeoutMs: 2000 },
      logger: testLogger(),
    });
    await ctl.start();
    const synced = waitForEvent<[Datapath]>(ctl, 'synced');
    await ovs.setUnixController('br0', sock);
    [real] = await synced;
  });

  afterAll(async () => {
    for (const f of fakes) f.socket.destroy();
    await ctl?.stop();
    await ovs?.stop();
    await stopAllOvs();
    cleanupSocket(sock);
  });

  const fake = async (answer?: (m: Message, sw: FakeSwitch) => void): Promise<FakeSwitch> => {
    const f = await FakeSwitch.open(sock, answer);
    fakes.push(f);
    return f;
  };

  /** The real switch is unaffected: a round trip works and a sync still goes through. */
  const realStillWorks = async (): Promise<void> => {
    expect(real.connection.closed).toBe(false);
    await real.connection.barrier();
    const stats = await ctl.resync(real.dpid);
    expect(stats.unchanged).toBe(1);
    expect(await flowSummaries(ovs)).toEqual(['table=0, priority=1 actions=drop']);
  };

  it('cuts off a peer that never says HELLO', async () => {
    const f = await fake();
    await until(() => f.closed, 3000, 'silent peer closed');
    await realStillWorks();
  });

  it('cuts off a peer sending garbage, answering with the OFPT_ERROR the codec names', async () => {
    const f = await fake(switchLike(0xf1n));
    await until(() => f.received.some((m) => m.type === 'hello'), 2000);
    // A plausible header (version 4, length 16) with an unknown type.
    f.socket.write(Buffer.concat([header(0xee, 16, 77), Buffer.alloc(8, 0xab)]));
    await until(() => f.closed, 3000, 'garbage peer closed');
    const err = f.received.find((m) => m.type === 'error');
    expect(err).toMatchObject({ type: 'error', xid: 77, errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE });
    await realStillWorks();
  });

  it('cuts off a peer whose header lies about the length (too short, too long)', async () => {
    for (const len of [4, 60000]) {
      const f = await fake(switchLike(0xf2n));
      await until(() => f.received.some((m) => m.type === 'hello'), 2000);
      f.socket.write(header(2, len));
      await until(() => f.closed, 3000, `peer with length ${len} closed`);
      expect(f.received.find((m) => m.type === 'error')).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    }
    await realStillWorks();
  });

  it('closes a connected datapath that sends a malformed message (logged with its dpid), only that one', async () => {
    const connected = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === 0xf3n);
    const f = await fake(switchLike(0xf3n));
    await connected;
    const gone = waitForEvent<[Datapath, string]>(ctl.datapaths, 'disconnected', (dp) => dp.dpid === 0xf3n);
    // A PORT_STATUS whose body is far too short for an ofp_port.
    f.socket.write(Buffer.concat([header(12, 24, 5), Buffer.alloc(16)]));
    const [, reason] = await gone;
    expect(reason).toMatch(/malformed/);
    const err = await until(() => f.received.find((m) => m.type === 'error'), 2000, 'OFPT_ERROR at the fake switch');
    expect(err).toMatchObject({ xid: 5, errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    await realStillWorks();
  });

  it('closes a datapath whose flow stats reply (read raw, undecoded) has an entry lying about its length', async () => {
    const connected = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === 0xf7n);
    const base = switchLike(0xf7n);
    const f = await fake((m, sw) => {
      if (m.type !== 'flow_stats_request') return base(m, sw);
      // Multipart reply header (type FLOW, no REPLY_MORE), then one entry claiming 4000 bytes in a 72-byte frame.
      const body = Buffer.alloc(56);
      body.writeUInt16BE(4000, 0);
      body.writeUInt16BE(1, 48); // OFPMT_OXM
      body.writeUInt16BE(4, 50);
      const hdr = Buffer.concat([header(19, 16 + body.length, m.xid), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])]);
      sw.socket.write(Buffer.concat([hdr, body]));
    });
    const gone = waitForEvent<[Datapath, string]>(ctl.datapaths, 'disconnected', (dp) => dp.dpid === 0xf7n);
    await connected; // the controller's first sync reads the flow stats
    const [, reason] = await gone;
    expect(reason).toMatch(/malformed.*ofp_flow_stats length 4000/);
    expect(await until(() => f.received.find((m) => m.type === 'error'), 2000, 'OFPT_ERROR at the fake switch')).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    await realStillWorks();
  });

  it('detects a dead peer with echo keepalive', async () => {
    const connected = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === 0xf4n);
    const f = await fake(switchLike(0xf4n));
    await connected;
    const gone = waitForEvent<[Datapath, string]>(ctl.datapaths, 'disconnected', (dp) => dp.dpid === 0xf4n, 5000);
    f.answer = () => undefined; // stops answering anything, echoes included
    const [, reason] = await gone;
    expect(reason).toMatch(/peer dead/);
    expect(f.received.some((m) => m.type === 'echo_request')).toBe(true);
    await realStillWorks();
  });

  it('reassembles multipart replies and times out unanswered requests', async () => {
    const connected = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === 0xf5n);
    const base = switchLike(0xf5n);
    const f = await fake((m, sw) => {
      if (m.type === 'flow_stats_request') {
        const stat = (priority: number) => ({ tableId: 0, durationSec: 0, durationNsec: 0, priority, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [], instructions: [] });
        sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: OFPMPF.REPLY_MORE, flows: [stat(1), stat(2)] });
        sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: OFPMPF.REPLY_MORE, flows: [stat(3)] });
        sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: 0, flows: [stat(4)] });
      } else if (m.type !== 'role_request') base(m, sw);
    });
    const [dp] = await connected;
    const stats = await dp.connection.flowStats();
    expect(stats.map((s) => s.priority)).toEqual([1, 2, 3, 4]);
    const err = await dp.connection.requestRole(2, 1n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as Error).message).toMatch(/role_request/);
    f.socket.destroy();
  });

  it('fails senders clearly when a switch stops reading, without blocking the others', async () => {
    const connected = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === 0xf6n);
    const f = await fake(switchLike(0xf6n));
    const [dp] = await connected;
    f.socket.pause(); // a switch that no longer reads
    const big = new Uint8Array(3000);
    let thrown: unknown;
    for (let i = 0; i < 10_000 && !thrown; i++) {
      try {
        dp.connection.packetOut(big, [{ type: 'output', port: OFPP.FLOOD, maxLen: 0 }]);
      } catch (e) {
        thrown = e;
      }
    }
    expect(thrown).toBeInstanceOf(SendQueueFullError);
    await realStillWorks();
    f.socket.destroy();
  });
});
