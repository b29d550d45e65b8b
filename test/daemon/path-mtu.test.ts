// PathMtuResponder on its own: which punts it answers, what it sends (decoded back), and its bounds. The lab test
// (test/lab/scenarios.test.ts) checks the whole loop with real kernels.
import { describe, expect, it } from 'vitest';
import { PathMtuResponder, type PortVm } from '../../src/daemon/path-mtu.js';
import { OFPP } from '../../src/openflow/consts.js';
import { internetChecksum, parseIpv4Frame } from '../../src/packets/index.js';
import { cookieFor } from '../../src/pipeline/cookie.js';
import { TABLE } from '../../src/pipeline/tables.js';
import { ConnectionClosedError, SendQueueFullError } from '../../src/runtime/index.js';
import { FAKE_NODE, fakeDatapath, packetIn, VM_PORT_NAME, type PacketIn } from '../helpers/fake-datapath.js';

const VM: PortVm = { mac: new Uint8Array([2, 0, 0, 0, 10, 1]), gatewayIp: 0xc0a81401 };

/** A too-big TCP frame from 192.168.20.10 as table 20 punts it (first 128 bytes). */
/** A too-big TCP frame from 192.168.20.10 as table 20 punts it (first 128 bytes). */
function punt(opts: { port?: number; table?: number; cookie?: bigint; data?: Uint8Array } = {}): PacketIn {
  const f = new Uint8Array(14 + 1500);
  const v = new DataView(f.buffer);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 1500);
  v.setUint16(20, 0x4000);
  f[22] = 64;
  f[23] = 6;
  v.setUint32(26, 0xc0a8140a);
  v.setUint32(30, 0xc0a81429);
  v.setUint16(24, internetChecksum(f, 14, 34));
  return packetIn(opts.data ?? f.subarray(0, 128), {
    ...(opts.port !== undefined && { port: opts.port }),
    totalLen: f.length,
    tableId: opts.table ?? TABLE.TUNNEL_OUT,
    cookie: opts.cookie ?? cookieFor('node', 0x0a63000b, 'endpoint'),
  });
}

function harness(now = { t: 0 }) {
  const { dp, sent, metrics, collaborators } = fakeDatapath();
  const r = new PathMtuResponder({
    ...collaborators,
    vmAtPort: (node, port) => (node === FAKE_NODE && port === VM_PORT_NAME ? VM : undefined),
    overlayMtu: () => 1450,
    metrics,
    ratePerSecond: 10,
    burst: 5,
    now: () => now.t,
  });
  return { r, dp, sent, metrics, now };
}

describe('PathMtuResponder', () => {
  it('answers a too-big IPv4 punt with ICMP frag-needed from the gateway, out of the port it came in on', () => {
    const { r, dp, sent } = harness();
    expect(r.onPacketIn(dp, punt())).toBe('icmp_sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.inPort).toBe(OFPP.CONTROLLER);
    expect(sent[0]!.actions).toEqual([{ type: 'output', port: 3, maxLen: 0 }]);
    const icmp = parseIpv4Frame(sent[0]!.data);
    expect([...icmp.ethDst]).toEqual([...VM.mac]);
    expect(icmp.src).toBe(VM.gatewayIp);
    expect(icmp.dst).toBe(0xc0a8140a);
    expect(icmp.protocol).toBe(1);
    expect([...icmp.ip.subarray(20, 22)]).toEqual([3, 4]);
    expect(new DataView(icmp.ip.buffer, icmp.ip.byteOffset).getUint16(26)).toBe(1450);
  });

  it('leaves other packet-ins alone (another table, somebody else\'s cookie, an unknown datapath)', () => {
    const { r, dp, sent } = harness();
    expect(r.onPacketIn(dp, punt({ table: TABLE.UNICAST }))).toBeUndefined();
    expect(r.onPacketIn(dp, punt({ cookie: 0x1234n }))).toBeUndefined();
    expect(r.onPacketIn({ ...dp, dpid: 8n }, punt())).toBeUndefined();
    expect(sent).toHaveLength(0);
  });

  it('drops and counts what it must not answer: not from a VM, malformed, an ICMP error', async () => {
    const { r, dp, sent, metrics } = harness();
    expect(r.onPacketIn(dp, punt({ port: 9 }))).toBe('not_from_vm');
    expect(r.onPacketIn(dp, punt({ data: new Uint8Array(20) }))).toBe('malformed');
    const icmpError = punt().data.slice();
    icmpError[23] = 1;
    icmpError[34] = 3;
    expect(r.onPacketIn(dp, punt({ data: icmpError }))).toBe('not_answerable');
    expect(sent).toHaveLength(0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/minicloud_path_mtu_packets_total\{node="compute-1",outcome="not_from_vm"\} 1/);
    expect(text).toMatch(/outcome="malformed"\} 1/);
  });

  it('is bounded per node by a token bucket: a burst, then the rate', () => {
    const { r, dp, sent, now } = harness();
    const outcomes = Array.from({ length: 8 }, () => r.onPacketIn(dp, punt()));
    expect(outcomes.filter((o) => o === 'icmp_sent')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'rate_limited')).toHaveLength(3);
    now.t += 200; // 10/s: two more tokens
    expect([r.onPacketIn(dp, punt()), r.onPacketIn(dp, punt()), r.onPacketIn(dp, punt())]).toEqual(['icmp_sent', 'icmp_sent', 'rate_limited']);
    expect(sent).toHaveLength(7);
  });

  it('drops and counts an answer its switch connection cannot take (full send queue or closing)', async () => {
    const { r, dp, metrics } = harness();
    for (const err of [new SendQueueFullError(1 << 20, 1 << 20), new ConnectionClosedError('peer closed')]) {
      dp.connection.packetOut = () => {
        throw err;
      };
      expect(r.onPacketIn(dp, punt())).toBe('send_failed');
    }
    expect(await metrics.registry.metrics()).toMatch(/outcome="send_failed"\} 2/);
    dp.connection.packetOut = () => {
      throw new TypeError('a bug');
    };
    expect(() => r.onPacketIn(dp, punt())).toThrow(TypeError);
  });
});
