// Regenerates the codec's golden vectors from real Open vSwitch (needs root and the openvswitch binaries):
//
//   npx tsx scripts/gen-fixtures.ts
//
// 1. test/fixtures/flow-vectors.json: for every text in test/fixtures/flow-texts.txt, what
//    `ovs-ofctl -O OpenFlow13 parse-flow TEXT` prints and the exact OFPT_FLOW_MOD bytes ovs-ofctl sends to a switch
//    (captured by a fake switch on a unix socket); texts OVS rejects become negative vectors with its error text.
// 2. test/fixtures/ovs-messages.json: messages a real ovs-vswitchd sends (HELLOs, replies to every request we care
//    about, async messages and OFPT_ERRORs for bad requests), captured over its br0.mgmt socket with hand-written
//    request bytes, each stored as hex beside `ovs-ofctl ofp-print` text.
//
// Idempotent: both files are rewritten; the OVS node (namespace + run directory) is removed even on failure.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OvsInstance } from '../src/lab/ovs.js';
import {
  applyActions,
  be16,
  be32,
  be64,
  bundleAdd,
  bundleCtrl,
  flowMod,
  gotoTable,
  match,
  outputAction,
  u8,
  captureFlowModFrames,
  flowModText,
  FrameSplitter,
  isRoot,
  mpRequest,
  ofctlParseFlow,
  ofMsg,
  ofpParseBatch,
} from '../test/helpers/fixtures-ofp.js';
import { hex, toHex } from '../test/helpers/hex.js';
import {
  FIXTURES_DIR,
  readFlowTexts,
  type CapturedExchange,
  type CapturedMessages,
  type FlowVectors,
  type NegativeFlowVector,
  type PositiveFlowVector,
} from '../test/helpers/fixtures-vectors.js';

const NODE = 'mc-fixgen';
const DPID = '0000c0ffee000001';
const log = (...a: unknown[]): void => console.error('[gen-fixtures]', ...a);

function ovsVersion(): string {
  const r = spawnSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' });
  return (r.stdout.split('\n')[0] ?? '').trim();
}

// ---------------------------------------------------------------------------------------------------------------
// Part 1: flow texts -> parse-flow text + FLOW_MOD bytes

async function genFlowVectors(): Promise<FlowVectors> {
  const texts = readFlowTexts();
  const positive: Omit<PositiveFlowVector, 'hex'>[] = [];
  const negative: NegativeFlowVector[] = [];
  for (const { text, section } of texts) {
    const r = ofctlParseFlow(text);
    if (r.ok) positive.push({ text, section, ofctl: r.line!, log: r.log });
    else negative.push({ text, section, error: r.error ?? '' });
  }
  log(`${texts.length} texts: ${positive.length} accepted, ${negative.length} rejected by parse-flow`);

  let frames = await captureFlowModFrames(positive.map((p) => p.text));
  if (frames.length !== positive.length) {
    log(`batch capture gave ${frames.length} FLOW_MODs for ${positive.length} texts; capturing one by one`);
    frames = [];
    for (const p of positive) {
      const f = await captureFlowModFrames([p.text]);
      if (f.length !== 1) throw new Error(`'${p.text}': ${f.length} FLOW_MODs captured`);
      frames.push(f[0]!);
    }
  }
  // Sanity: what OVS prints for the captured bytes reads the same as its parse-flow line.
  const prints = ofpParseBatch(frames);
  positive.forEach((p, i) => {
    const a = flowModText(prints[i]!.split('\n')[0]!);
    const b = flowModText(p.ofctl);
    if (a !== b) log(`warning: captured bytes of '${p.text}' print as '${a}', parse-flow said '${b}'`);
  });
  return {
    ovsVersion: ovsVersion(),
    positive: positive.map((p, i) => ({ ...p, hex: toHex(frames[i]!) })),
    negative,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2: a raw OpenFlow 1.3 client against a real ovs-vswitchd

/** A raw connection to a bridge's mgmt socket; collects every frame it receives. */
class RawConn {
  readonly received: Buffer[] = [];
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(private readonly sock: Socket) {
    const splitter = new FrameSplitter();
    sock.on('data', (chunk: Buffer) => {
      const frames = splitter.push(chunk);
      if (!frames) return void sock.destroy();
      this.received.push(...frames);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static open(path: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  send(...msgs: Uint8Array[]): void {
    for (const m of msgs) this.sock.write(m);
  }

  /** Waits until `pred` holds for the frames received so far (or the connection closes, or the timeout). */
  async waitFor(pred: (frames: readonly Buffer[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.received)) {
      if (this.closed) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for OVS');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** The 40-byte flow/aggregate stats request body: all tables, any port/group, empty match. */
const flowStatsBody = (): Buffer =>
  Buffer.concat([u8(0xff, 0, 0, 0), be32(0xffffffff), be32(0xffffffff), Buffer.alloc(4), be64(0n), be64(0n), match()]);

/** A minimal Ethernet/ARP request frame for PACKET_OUT -> PACKET_IN. */
const arpFrame = (): Buffer =>
  Buffer.concat([
    Buffer.from('ffffffffffff020000000011', 'hex'),
    be16(0x0806),
    Buffer.from('0001080006040001', 'hex'),
    Buffer.from('020000000011', 'hex'),
    Buffer.from([192, 168, 20, 34]),
    Buffer.from('000000000000', 'hex'),
    Buffer.from([192, 168, 20, 1]),
    Buffer.alloc(18),
  ]);

async function genOvsMessages(flowVectors: FlowVectors): Promise<CapturedMessages> {
  const inst = await OvsInstance.start({ name: NODE });
  const onSignal = (): void => {
    void inst.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const conns: RawConn[] = [];
  try {
    await inst.addBridge('br0', { protocols: ['OpenFlow13'], datapathId: DPID });
    await inst.addBridge('br1', {});
    await inst.vsctl('add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=internal', 'ofport_request=1');
    await inst.vsctl('add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'type=internal', 'ofport_request=2');
    await inst.exec('ip', ['link', 'add', 'v1', 'type', 'veth', 'peer', 'name', 'v1peer']);
    await inst.exec('ip', ['link', 'set', 'v1', 'up']);
    await inst.exec('ip', ['link', 'set', 'v1peer', 'up']);
    await inst.vsctl('add-port', 'br0', 'v1', '--', 'set', 'interface', 'v1', 'ofport_request=3');
    await inst.vsctl(
      'add-port', 'br0', 'vxlan-int', '--', 'set', 'interface', 'vxlan-int', 'type=vxlan', 'ofport_request=4',
      'options:remote_ip=flow', 'options:key=flow',
    );
    const ports: Record<string, number> = { p1: 1, p2: 2, v1: 3, 'vxlan-int': 4, br0: 0xfffffffe };

    // What the flow texts refer to: groups, meters, a TLV map for tun_metadata0.
    const of = (...a: string[]): Promise<string> => inst.ofctl('-O', 'OpenFlow13', ...a);
    for (const g of [1, 7, 100, 4294967040]) await of('add-group', 'br0', `group_id=${g},type=all,bucket=output:1,bucket=output:2`);
    await of('add-group', 'br0', 'group_id=200,type=select,selection_method=hash,bucket=weight:10,output:1,bucket=weight:20,output:2');
    await of('add-group', 'br0', 'group_id=201,type=fast_failover,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2');
    for (const m of [1, 2, 5]) await of('add-meter', 'br0', `meter=${m},kbps,burst,band=type=drop,rate=${1000 * m},burst_size=${100 * m}`);
    await of('add-tlv-map', 'br0', '{class=0xffff,type=0,len=4}->tun_metadata0');

    // Every accepted flow text, each with its own priority when it has none (else they would replace each other).
    const loadTexts = flowVectors.positive.map((p, i) => (/(^|,)priority=/.test(p.text) ? p.text : `priority=${1000 + i},${p.text}`));
    const loadRejected: { text: string; error: string }[] = [];
    for (const t of loadTexts) {
      try {
        await of('--no-names', 'add-flow', 'br0', t);
      } catch (e) {
        loadRejected.push({ text: t, error: String((e as Error).message).split('\n').slice(-2).join(' ').slice(0, 300) });
      }
    }
    const dump = await of('--no-names', 'dump-flows', 'br0');
    const flowCount = dump.split('\n').filter((l) => l.includes('actions=')).length;
    log(`br0 holds ${flowCount} flows; ${loadRejected.length} texts rejected at load`);

    const exchanges: CapturedExchange[] = [];
    let xid = 0x100;

    const conn = await RawConn.open(inst.mgmtSocket('br0'));
    conns.push(conn);
    // OVS speaks first: its HELLO (bridge limited to OpenFlow13).
    await conn.waitFor((f) => f.length >= 1);
    const hello13 = conn.received.shift()!;
    exchanges.push({ name: 'hello_of13', description: 'HELLO from OVS, bridge protocols=OpenFlow13', sent: [], received: [{ hex: toHex(hello13), print: '' }] });
    conn.send(ofMsg(0, 1));

    /**
     * Sends `msgs`, then a barrier; records every frame up to the barrier reply, and when `asyncTypes` is given also
     * waits (bounded) for a message of each of those types, which OVS may send after the barrier reply.
     */
    const exchangeAsync = async (name: string, description: string, asyncTypes: readonly number[], ...msgs: Buffer[]): Promise<Buffer[]> => {
      const barrierXid = 0x7fff0000 + xid++;
      conn.received.length = 0;
      conn.send(...msgs, ofMsg(20, barrierXid));
      await conn.waitFor((f) => f.some((m) => m[1] === 21 && m.readUInt32BE(4) === barrierXid));
      await conn
        .waitFor((f) => asyncTypes.every((t) => f.some((m) => m[1] === t)), 5000)
        .catch(() => log(`warning: ${name}: no message of types ${asyncTypes.join(',')} from OVS`));
      const got = conn.received.filter((m) => !(m[1] === 21 && m.readUInt32BE(4) === barrierXid));
      exchanges.push({ name, description, sent: msgs.map(toHex), received: got.map((m) => ({ hex: toHex(m), print: '' })) });
      return got;
    };
    const exchange = (name: string, description: string, ...msgs: Buffer[]): Promise<Buffer[]> => exchangeAsync(name, description, [], ...msgs);
    const next = (): number => xid++;

    await exchange('features_reply', 'FEATURES_REQUEST -> FEATURES_REPLY', ofMsg(5, next()));
    await exchange('get_config_reply', 'GET_CONFIG_REQUEST -> GET_CONFIG_REPLY', ofMsg(7, next()));
    await exchange('echo_reply', 'ECHO_REQUEST with 12 bytes payload -> ECHO_REPLY', ofMsg(2, next(), Buffer.from('minicloud-ok')));
    await exchange('barrier_reply', 'BARRIER_REQUEST -> BARRIER_REPLY', ofMsg(20, next()));
    await exchange('desc_reply', 'OFPMP_DESC', mpRequest(0, next()));
    await exchange('flow_stats_reply', 'OFPMP_FLOW, all tables, of br0 holding every accepted flow text', mpRequest(1, next(), flowStatsBody()));
    await exchange('aggregate_stats_reply', 'OFPMP_AGGREGATE, all tables', mpRequest(2, next(), flowStatsBody()));
    await exchange('table_stats_reply', 'OFPMP_TABLE', mpRequest(3, next()));
    await exchange('port_stats_reply', 'OFPMP_PORT_STATS, OFPP_ANY', mpRequest(4, next(), Buffer.concat([be32(0xffffffff), Buffer.alloc(4)])));
    await exchange('queue_stats_reply', 'OFPMP_QUEUE, OFPP_ANY / OFPQ_ALL', mpRequest(5, next(), Buffer.concat([be32(0xffffffff), be32(0xffffffff)])));
    await exchange('group_stats_reply', 'OFPMP_GROUP, OFPG_ALL', mpRequest(6, next(), Buffer.concat([be32(0xfffffffc), Buffer.alloc(4)])));
    await exchange('group_desc_reply', 'OFPMP_GROUP_DESC', mpRequest(7, next()));
    await exchange('group_features_reply', 'OFPMP_GROUP_FEATURES', mpRequest(8, next()));
    await exchange('meter_stats_reply', 'OFPMP_METER, OFPM_ALL', mpRequest(9, next(), Buffer.concat([be32(0xffffffff), Buffer.alloc(4)])));
    await exchange('meter_config_reply', 'OFPMP_METER_CONFIG, OFPM_ALL', mpRequest(10, next(), Buffer.concat([be32(0xffffffff), Buffer.alloc(4)])));
    await exchange('meter_features_reply', 'OFPMP_METER_FEATURES', mpRequest(11, next()));
    await exchange('table_features_reply', 'OFPMP_TABLE_FEATURES, empty request (multi-part, large)', mpRequest(12, next()));
    await exchange('port_desc_reply', 'OFPMP_PORT_DESC', mpRequest(13, next()));
    await exchange('queue_get_config_reply', 'QUEUE_GET_CONFIG_REQUEST for port 1', ofMsg(22, next(), Buffer.concat([be32(1), Buffer.alloc(4)])));
    await exchange('role_reply_nochange', 'ROLE_REQUEST NOCHANGE -> current role', ofMsg(24, next(), Buffer.concat([be32(0), Buffer.alloc(4), be64(0n)])));
    await exchange('role_reply_master', 'ROLE_REQUEST MASTER generation 5', ofMsg(24, next(), Buffer.concat([be32(2), Buffer.alloc(4), be64(5n)])));
    await exchange('get_async_reply_default', 'GET_ASYNC_REQUEST before SET_ASYNC', ofMsg(26, next()));
    const asyncAll = Buffer.concat([be32(0x7), be32(0x7), be32(0x7), be32(0x7), be32(0xf), be32(0xf)]);
    await exchange('get_async_reply_set', 'SET_ASYNC (all reasons) then GET_ASYNC_REQUEST', ofMsg(28, next(), asyncAll), ofMsg(26, next()));

    // Async messages.
    const pktOut = ofMsg(13, next(), Buffer.concat([be32(0xffffffff), be32(0xfffffffd), be16(16), Buffer.alloc(6), outputAction(0xfffffffd), arpFrame()]));
    await exchangeAsync('packet_in_action', 'PACKET_OUT in_port=CONTROLLER actions=CONTROLLER -> PACKET_IN (reason action)', [10], pktOut);
    const rmMatch = match(Buffer.concat([u8(0x80, 0x00, 0x00, 0x04), be32(2)])); // in_port=2
    await exchangeAsync(
      'flow_removed_delete',
      'FLOW_MOD ADD table 5 (send_flow_rem, cookie 0xabc) then DELETE -> FLOW_REMOVED',
      [11],
      flowMod(next(), { tableId: 5, priority: 77, cookie: 0xabcn, flags: 1, match: rmMatch, instructions: applyActions(outputAction(1)) }),
      flowMod(next(), { tableId: 5, command: 3, priority: 77, match: rmMatch }),
    );
    conn.received.length = 0;
    await inst.vsctl('add-port', 'br0', 'p9', '--', 'set', 'interface', 'p9', 'type=internal', 'ofport_request=9');
    await conn.waitFor((f) => f.some((m) => m[1] === 12), 5000).catch(() => log('warning: no PORT_STATUS from OVS'));
    exchanges.push({
      name: 'port_status_add',
      description: 'PORT_STATUS OVS sent after `ovs-vsctl add-port br0 p9`',
      sent: [],
      received: conn.received.filter((m) => m[1] === 12).map((m) => ({ hex: toHex(m), print: '' })),
    });

    // OFPT_ERRORs for bad requests.
    await exchange('error_bad_version', 'FEATURES_REQUEST with version 0x01 on an OpenFlow 1.3 connection', ofMsg(5, next(), Buffer.alloc(0), 1));
    await exchange('error_bad_type', 'message type 48 (undefined in 1.3)', ofMsg(48, next()));
    await exchange('error_bad_len', 'FEATURES_REQUEST with 8 bytes of body', ofMsg(5, next(), Buffer.alloc(8)));
    await exchange('error_bad_multipart', 'MULTIPART_REQUEST of type 0x99', mpRequest(0x99, next()));
    await exchange('error_bad_experimenter', 'EXPERIMENTER message, experimenter 0x00abcdef', ofMsg(4, next(), Buffer.concat([be32(0xabcdef), be32(1)])));
    await exchange(
      'error_bad_action',
      'FLOW_MOD whose apply_actions holds an action of type 0x1234',
      flowMod(next(), { priority: 1, instructions: applyActions(Buffer.concat([be16(0x1234), be16(8), Buffer.alloc(4)])) }),
    );
    await exchange(
      'error_bad_action_len',
      'FLOW_MOD with an OUTPUT action whose length says 24',
      flowMod(next(), { priority: 1, instructions: applyActions(Buffer.concat([be16(0), be16(24), be32(1), be16(0), Buffer.alloc(6)])) }),
    );
    await exchange(
      'error_bad_prereq',
      'FLOW_MOD matching tcp_dst=80 without eth_type/ip_proto',
      flowMod(next(), { priority: 1, match: match(Buffer.concat([u8(0x80, 0x00, 0x1c, 0x02), be16(80)])) }),
    );
    await exchange('error_bad_table', 'FLOW_MOD ADD to table 255', flowMod(next(), { tableId: 255, priority: 1 }));
    await exchange('error_goto_backwards', 'FLOW_MOD in table 5 with goto_table:2', flowMod(next(), { tableId: 5, priority: 1, instructions: gotoTable(2) }));
    await exchange(
      'error_unknown_group',
      'FLOW_MOD with group:9999 (no such group)',
      flowMod(next(), { priority: 1, instructions: applyActions(Buffer.concat([be16(22), be16(8), be32(9999)])) }),
    );
    const bx = next();
    await exchange('bundle_open_reply', 'ONF BUNDLE_CONTROL OPEN_REQUEST bundle 1', bundleCtrl(bx, 1, 0));
    const bad = next();
    await exchange(
      'bundle_add_bad_action',
      'ONF BUNDLE_ADD of a FLOW_MOD with an action of type 0x1234',
      bundleAdd(bad, 1, flowMod(bad, { priority: 1, instructions: applyActions(Buffer.concat([be16(0x1234), be16(8), Buffer.alloc(4)])) })),
    );
    const grp = next();
    await exchange(
      'bundle_add_unknown_group',
      'ONF BUNDLE_ADD of a FLOW_MOD with group:9999 (accepted at add time)',
      bundleAdd(grp, 1, flowMod(grp, { priority: 2, instructions: applyActions(Buffer.concat([be16(22), be16(8), be32(9999)])) })),
    );
    await exchange('bundle_commit_error', 'ONF BUNDLE_CONTROL COMMIT_REQUEST of bundle 1 (holds the bad flow)', bundleCtrl(next(), 1, 4));
    const gx = next();
    await exchange('bundle_open2_reply', 'ONF BUNDLE_CONTROL OPEN_REQUEST bundle 2 (atomic)', bundleCtrl(gx, 2, 0, 1));
    const okx = next();
    await exchange(
      'bundle_add_good',
      'ONF BUNDLE_ADD of a good FLOW_MOD',
      bundleAdd(okx, 2, flowMod(okx, { tableId: 7, priority: 3, instructions: applyActions(outputAction(1)) }), 1),
    );
    await exchange('bundle_commit_reply', 'ONF BUNDLE_CONTROL COMMIT_REQUEST of bundle 2', bundleCtrl(next(), 2, 4, 1));
    conn.close();

    // br1 keeps OVS's default protocols: its HELLO carries the version bitmap OVS offers.
    const c1 = await RawConn.open(inst.mgmtSocket('br1'));
    conns.push(c1);
    await c1.waitFor((f) => f.length >= 1);
    exchanges.push({ name: 'hello_default', description: 'HELLO from OVS, bridge with default protocols', sent: [], received: [{ hex: toHex(c1.received[0]!), print: '' }] });
    c1.close();

    // Print everything with one ofp-parse run, then put the real xids back into the texts. Messages over 16 KiB
    // (the TABLE_FEATURES parts) are stored gzipped to keep the fixtures small.
    const all = exchanges.flatMap((e) => e.received);
    const prints = ofpParseBatch(all.map((m) => hex(m.hex!)));
    const printed: CapturedExchange[] = [];
    let k = 0;
    for (const e of exchanges) {
      printed.push({
        ...e,
        received: e.received.map((m) => {
          const bytes = hex(m.hex!);
          const realXid = Buffer.from(bytes).readUInt32BE(4);
          const print = prints[k++]!.replace(/\(xid=0x[0-9a-f]+\)/, `(xid=0x${realXid.toString(16)})`);
          return bytes.length > 16 * 1024
            ? { gz: gzipSync(bytes, { level: 9 }).toString('base64'), length: bytes.length, print }
            : { hex: m.hex!, print };
        }),
      });
    }
    return {
      meta: { ovsVersion: ovsVersion(), datapathId: DPID, ports, flowCount, loadRejected },
      exchanges: printed,
    };
  } finally {
    for (const c of conns) c.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await inst.stop();
  }
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('gen-fixtures needs root (network namespaces, OVS)');
  const flows = await genFlowVectors();
  writeFileSync(join(FIXTURES_DIR, 'flow-vectors.json'), JSON.stringify(flows, null, 1) + '\n');
  log(`wrote flow-vectors.json: ${flows.positive.length} positive, ${flows.negative.length} negative`);
  const msgs = await genOvsMessages(flows);
  writeFileSync(join(FIXTURES_DIR, 'ovs-messages.json'), JSON.stringify(msgs, null, 1) + '\n');
  const n = msgs.exchanges.reduce((a, e) => a + e.received.length, 0);
  log(`wrote ovs-messages.json: ${msgs.exchanges.length} exchanges, ${n} messages`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
