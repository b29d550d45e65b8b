// DhcpResponder on its own: which punts it answers, what it sends (read back with our parser's counterpart and
// byte offsets), NAK and the silent cases, and that malformed or foreign input is dropped and counted, never thrown.
// The lab test (test/lab/dhcp.test.ts) has udhcpc lease through a real switch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DhcpResponder } from '../../src/daemon/dhcp.js';
import type { Metrics } from '../../src/daemon/metrics.js';
import type { DhcpClient } from '../../src/daemon/node-pipelines.js';
import { OFPP } from '../../src/openflow/consts.js';
import { cookieFor } from '../../src/pipeline/cookie.js';
import { TABLE } from '../../src/pipeline/tables.js';
import { ConnectionClosedError, SendQueueFullError } from '../../src/runtime/index.js';
import { ipv4ToNumber as ip } from '../../src/topology/model.js';
import { CLIENT_MAC, clientFrame } from '../helpers/dhcp.js';
import { FAKE_NODE, fakeDatapath, packetIn, VM_PORT_NAME, type PacketIn } from '../helpers/fake-datapath.js';

const VM: DhcpClient = { name: 'a1', mac: CLIENT_MAC, ip: ip('10.0.1.5'), prefixLength: 24, gatewayIp: ip('10.0.1.1') };

const punt = (data: Uint8Array, opts: { port?: number; table?: number } = {}): PacketIn =>
  packetIn(data, { ...(opts.port !== undefined && { port: opts.port }), tableId: opts.table ?? TABLE.BROADCAST, cookie: cookieFor('vm', VM.ip, 'compute') });

function harness() {
  const { dp, sent, metrics, collaborators } = fakeDatapath();
  const r = new DhcpResponder({
    ...collaborators,
    clientAt: (node, port) => (node === FAKE_NODE && port === VM_PORT_NAME ? VM : undefined),
    overlayMtu: () => 1450,
    leaseSeconds: 43200,
    dns: [ip('10.0.0.53')],
    metrics,
  });
  return { r, dp, sent, metrics };
}

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at);
const msgType = (f: Uint8Array): number => {
  for (let at = 42 + 240; at < f.length && f[at] !== 255; at += f[at] === 0 ? 1 : 2 + f[at + 1]!) if (f[at] === 53) return f[at + 2]!;
  return -1;
};

async function count(metrics: Metrics, outcome: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString('minicloud_dhcp_packets_total');
  const m = text.match(new RegExp(`minicloud_dhcp_packets_total\\{node="compute-1",outcome="${outcome}"\\} (\\d+)`));
  return m ? Number(m[1]) : 0;
}

describe('DhcpResponder', () => {
  it('answers DISCOVER with an OFFER of the VM\'s address, out of its port, from the gateway', async () => {
    const { r, dp, sent, metrics } = harness();
    expect(r.onPacketIn(dp, punt(clientFrame()))).toBe('offer');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.actions).toEqual([{ type: 'output', port: 3, maxLen: 0 }]);
    expect(sent[0]!.inPort).toBe(OFPP.CONTROLLER);
    const f = sent[0]!.data;
    expect(msgType(f)).toBe(2);
    expect(u32(f, 26)).toBe(VM.gatewayIp);
    expect(u32(f, 42 + 16)).toBe(VM.ip);
    expect(await count(metrics, 'offer')).toBe(1);
  });

  it('ACKs a REQUEST for the VM\'s address (selecting, renewing from table 10), NAKs any other', () => {
    const { r, dp, sent } = harness();
    const selecting = [53, 1, 3, 54, 4, 10, 0, 1, 1, 50, 4, 10, 0, 1, 5, 255];
    expect(r.onPacketIn(dp, punt(clientFrame({ options: selecting })))).toBe('ack');
    expect(r.onPacketIn(dp, punt(clientFrame({ ciaddr: '10.0.1.5', src: '10.0.1.5', dst: '10.0.1.1', options: [53, 1, 3, 255] }), { table: TABLE.UNICAST }))).toBe('ack');
    expect(u32(sent[1]!.data, 30)).toBe(VM.ip); // a renewal is answered to ciaddr
    expect(r.onPacketIn(dp, punt(clientFrame({ options: [53, 1, 3, 50, 4, 10, 0, 1, 9, 255] })))).toBe('nak');
    expect(msgType(sent[2]!.data)).toBe(6);
    expect(sent.map((s) => msgType(s.data))).toEqual([5, 5, 6]);
  });

  it('stays silent for RELEASE, DECLINE, INFORM and a REQUEST naming another server', () => {
    const { r, dp, sent } = harness();
    for (const type of [4, 7, 8]) expect(r.onPacketIn(dp, punt(clientFrame({ options: [53, 1, type, 255] })))).toBe('ignored');
    expect(r.onPacketIn(dp, punt(clientFrame({ options: [53, 1, 3, 54, 4, 10, 0, 9, 9, 50, 4, 10, 0, 1, 5, 255] })))).toBe('ignored');
    expect(sent).toHaveLength(0);
  });

  it('drops and counts malformed DHCP, a foreign chaddr, a port with no VM; leaves other tables alone', async () => {
    const { r, dp, sent, metrics } = harness();
    expect(r.onPacketIn(dp, punt(clientFrame({ options: [53, 1, 1] })))).toBe('malformed');
    expect(r.onPacketIn(dp, punt(new Uint8Array(10)))).toBe('malformed');
    expect(r.onPacketIn(dp, punt(clientFrame({ chaddr: new Uint8Array([2, 0, 0, 0, 0, 9]) })))).toBe('chaddr_mismatch');
    expect(r.onPacketIn(dp, punt(clientFrame(), { port: 9 }))).toBe('not_from_vm');
    expect(r.onPacketIn(dp, punt(clientFrame(), { table: TABLE.TUNNEL_OUT }))).toBeUndefined();
    expect(sent).toHaveLength(0);
    expect(await count(metrics, 'malformed')).toBe(2);
  });

  it('drops and counts an answer its switch connection cannot take (full send queue or closing)', async () => {
    const { r, dp, metrics } = harness();
    for (const err of [new SendQueueFullError(1 << 20, 1 << 20), new ConnectionClosedError('peer closed')]) {
      dp.connection.packetOut = () => {
        throw err;
      };
      expect(r.onPacketIn(dp, punt(clientFrame()))).toBe('send_failed');
    }
    expect(await count(metrics, 'send_failed')).toBe(2);
  });

  it('never throws on any punted bytes (property)', () => {
    const { r, dp } = harness();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(330), fc.nat(255)), { maxLength: 4 }), (bytes, edits) => {
        expect(r.onPacketIn(dp, punt(bytes))).toBe('malformed');
        const f = clientFrame();
        for (const [at, v] of edits) f[at] = v;
        expect(r.onPacketIn(dp, punt(f))).toBeTypeOf('string');
      }),
      { numRuns: 1000 },
    );
  });
});
