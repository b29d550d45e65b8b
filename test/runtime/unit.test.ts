// Pure parts of the runtime: endpoint parsing, canonical flow identity, the diff.
import { describe, expect, it } from 'vitest';
import { OFPFC, OFPFF, OFPG, OFPP, OFP_NO_BUFFER } from '../../src/openflow/consts.js';
import { CodecError } from '../../src/openflow/errors.js';
import { parseFlow } from '../../src/openflow/text/flow-text.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import type { FlowMod, FlowStats, OxmField } from '../../src/openflow/types.js';
import fc from 'fast-check';
import { addFlowStatsPart, diffDesired, diffFlows, indexDesiredSteps, InstalledFlow, installedFromStats, linkDesired, type Ownership } from '../../src/runtime/diff.js';
import { runSteps } from '../../src/pipeline/steps.js';
import { formatEndpoint, parseEndpoint } from '../../src/runtime/endpoint.js';
import { canonicalFlowKey, canonicalInstructions, canonicalMatch, checkFlowStatsFrame, FlowKeyIndex, forEachFlowStatsEntry, forEachFlowStatsIdentity } from '../../src/openflow/index.js';
import { encodedFlow, flowAttributes } from '../../src/runtime/flow-key.js';
import { opEncoder } from '../../src/runtime/sync.js';
import { ChunkPool } from '../../src/runtime/chunk-pool.js';

describe('parseEndpoint', () => {
  it.each([
    ['tcp:', 'listen', { kind: 'tcp', host: undefined, port: 6653 }],
    ['tcp:6633', 'listen', { kind: 'tcp', host: undefined, port: 6633 }],
    ['tcp:127.0.0.1:0', 'listen', { kind: 'tcp', host: '127.0.0.1', port: 0 }],
    ['ssl:[::1]:6653', 'listen', { kind: 'ssl', host: '::1', port: 6653 }],
    ['tcp:10.0.0.1', 'connect', { kind: 'tcp', host: '10.0.0.1', port: 6653 }],
    ['unix:/run/ovs/br0.mgmt', 'connect', { kind: 'unix', path: '/run/ovs/br0.mgmt' }],
  ] as const)('%s (%s)', (spec, mode, want) => {
    expect(parseEndpoint(spec, mode)).toEqual(want);
  });

  it.each(['udp:1', 'unix:', 'tcp:1.2.3.4:99999', 'tcp:[::1', 'tcp:'])('rejects %s for connecting', (spec) => {
    expect(() => parseEndpoint(spec, 'connect')).toThrow();
  });

  it('formats back', () => {
    expect(formatEndpoint(parseEndpoint('ssl:[::1]:7'))).toBe('ssl:[::1]:7');
    expect(formatEndpoint(parseEndpoint('tcp:0.0.0.0:6653'))).toBe('tcp:0.0.0.0:6653');
  });
});

const f = (field: string, value: number[], mask?: number[]): OxmField => ({ field, value: new Uint8Array(value), ...(mask ? { mask: new Uint8Array(mask) } : {}) });

describe('canonical flow identity', () => {
  it('compares matches order-independently', () => {
    const a = [f('eth_type', [8, 0]), f('ip_dst', [10, 0, 0, 1])];
    expect(canonicalMatch(a)).toBe(canonicalMatch([...a].reverse()));
    expect(canonicalMatch(a)).not.toBe(canonicalMatch([f('eth_type', [8, 0]), f('ip_dst', [10, 0, 0, 2])]));
  });

  it('normalises masks: all-ones is exact, all-zeros is absent, value bits outside the mask are ignored', () => {
    const exact = [f('ip_dst', [10, 0, 0, 1])];
    expect(canonicalMatch([f('ip_dst', [10, 0, 0, 1], [255, 255, 255, 255])])).toBe(canonicalMatch(exact));
    expect(canonicalMatch([f('eth_type', [8, 0]), f('ip_src', [1, 2, 3, 4], [0, 0, 0, 0])])).toBe(canonicalMatch([f('eth_type', [8, 0])]));
    expect(canonicalMatch([f('ip_dst', [10, 0, 0, 77], [255, 255, 255, 0])])).toBe(canonicalMatch([f('ip_dst', [10, 0, 0, 0], [255, 255, 255, 0])]));
  });

  it('keys on table and priority too; attributes keep only state flags', () => {
    const x = parseFlow('table=1,priority=5,ip,actions=drop');
    expect(canonicalFlowKey(x)).not.toBe(canonicalFlowKey({ ...x, priority: 6 }));
    expect(canonicalFlowKey(x)).not.toBe(canonicalFlowKey({ ...x, tableId: 2 }));
    expect(flowAttributes({ ...x, flags: OFPFF.CHECK_OVERLAP })).toBe(flowAttributes(x));
    expect(flowAttributes({ ...x, flags: OFPFF.SEND_FLOW_REM })).not.toBe(flowAttributes(x));
  });

  it('fingerprints instructions in execution order, an empty apply_actions being none', () => {
    const goto = { type: 'goto_table' as const, tableId: 3 };
    const apply = { type: 'apply_actions' as const, actions: [{ type: 'output' as const, port: 1, maxLen: 0 }] };
    expect(canonicalInstructions([goto, apply])).toBe(canonicalInstructions([apply, goto]));
    expect(canonicalInstructions([{ type: 'apply_actions', actions: [] }])).toBe(canonicalInstructions([]));
  });
});

const stats = (text: string, cookie = 0n): FlowStats => {
  const m = parseFlow(text);
  return { tableId: m.tableId, durationSec: 0, durationNsec: 0, priority: m.priority, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie, packetCount: 0n, byteCount: 0n, match: m.match, instructions: m.instructions };
};
const all: Ownership = { cookie: 0n, cookieMask: 0n, takeOverTables: new Set() };

describe('diffFlows', () => {
  it('sorts flows into unchanged, modify (instructions), replace (cookie/attributes), add and delete', () => {
    const installed = installedFromStats([
      stats('table=0,priority=1,ip,actions=drop'),
      stats('table=0,priority=2,arp,actions=output:1'),
      stats('table=0,priority=3,udp,actions=drop'),
      stats('table=0,priority=4,tcp,actions=drop'),
    ]);
    const plan = diffFlows(
      installed,
      [
        parseFlow('table=0,priority=1,ip,actions=drop'),
        parseFlow('table=0,priority=2,arp,actions=output:2'),
        parseFlow('table=0,priority=3,udp,idle_timeout=5,actions=drop'),
        parseFlow('table=0,priority=9,icmp,actions=drop'),
      ],
      all,
    );
    expect(plan.unchanged).toBe(1);
    expect(plan.modifies.map((x) => x.priority)).toEqual([2]);
    expect(plan.replaces.map((x) => x.priority)).toEqual([3]);
    expect(plan.adds.map((x) => x.priority)).toEqual([9]);
    expect(plan.deletes.map((x) => x.priority)).toEqual([4]);
  });

  it('keeps foreign cookies unless their table is taken over; stamps our cookie on desired flows', () => {
    const own: Ownership = { cookie: 0x0a00n, cookieMask: 0xff00n, takeOverTables: new Set() };
    const installed = installedFromStats([stats('table=0,priority=1,ip,actions=drop', 0x0a01n), stats('table=0,priority=2,ip,actions=drop', 0x0b00n), stats('table=1,priority=2,ip,actions=drop', 0x0b00n)]);
    expect(diffFlows(installed, [], own).deletes.map((x) => x.cookie)).toEqual([0x0a01n]);
    expect(diffFlows(installed, [], { ...own, takeOverTables: new Set([1]) }).deletes.map((x) => x.tableId)).toEqual([0, 1]);
    // Cookie bits outside the mask are the flow's own; 0x0a01 is exactly what is installed.
    expect(diffFlows(installed, [{ ...parseFlow('table=0,priority=1,ip,actions=drop'), cookie: 0x01n }], own).unchanged).toBe(1);
    expect(() => diffFlows(installed, [{ ...parseFlow('table=0,priority=1,ip,actions=drop'), cookie: 0x0c00n }], own)).toThrow(/outside our cookie space/);
  });

  it('refuses two desired flows with the same identity', () => {
    const x = parseFlow('table=0,priority=1,ip,nw_dst=10.0.0.1,actions=drop');
    const y = parseFlow('table=0,priority=1,nw_dst=10.0.0.1,ip,actions=output:1');
    expect(() => diffFlows(new Map(), [x, y], all)).toThrow(/two flows/);
    expect(() => diffFlows(installedFromStats([stats('table=0,priority=1,ip,nw_dst=10.0.0.1,actions=drop')]), [x, y], all)).toThrow(/two flows/);
  });
});

const statsReply = (flows: FlowStats[]): Buffer => encodeMessage({ type: 'flow_stats_reply', xid: 9, flags: 0, flows });

describe('installed flows read from raw flow stats bytes', () => {
  const sample = [
    { ...stats('table=3,priority=7,ip,nw_dst=10.0.0.0/24,actions=goto_table:5', 0xab00000001n), idleTimeout: 30, flags: OFPFF.SEND_FLOW_REM },
    stats('table=0,priority=1,tcp,tp_dst=80,actions=output:2'),
    stats('table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=load:100->NXM_NX_TUN_ID[],load:0x0a630001->NXM_NX_TUN_IPV4_DST[],output:1'),
  ];

  it('gives the same keys, fingerprints, attributes and cookies as decoded stats', () => {
    const raw = new Map<string, InstalledFlow>();
    addFlowStatsPart(statsReply(sample), raw);
    const decoded = installedFromStats(sample);
    expect([...raw.keys()]).toEqual([...decoded.keys()]);
    for (const [k, f] of raw) {
      const d = decoded.get(k)!;
      expect([f.tableId, f.priority, f.cookie, f.attrs, f.fp]).toEqual([d.tableId, d.priority, d.cookie, d.attrs, d.fp]);
    }
  });

  it('matches desired flows whatever order the switch lists fields and instructions in, and normalises masks', () => {
    const want = parseFlow('table=1,priority=5,ip,nw_src=10.1.0.0/16,nw_dst=10.0.0.1,actions=output:1,goto_table:2');
    const apply = want.instructions.find((i) => i.type === 'apply_actions')!;
    const goto = want.instructions.find((i) => i.type === 'goto_table')!;
    const reordered: FlowStats = {
      ...stats('table=1,priority=5,actions=drop'),
      // Fields in another order, the exact one written with an all-ones mask, value bits outside the mask set.
      match: [
        { field: 'ip_dst', value: new Uint8Array([10, 0, 0, 1]), mask: new Uint8Array([255, 255, 255, 255]) },
        { field: 'ip_src', value: new Uint8Array([10, 1, 7, 7]), mask: new Uint8Array([255, 255, 0, 0]) },
        { field: 'eth_type', value: new Uint8Array([8, 0]) },
      ],
      instructions: [goto, { type: 'apply_actions', actions: [] }, apply],
    };
    const raw = new Map<string, InstalledFlow>();
    addFlowStatsPart(statsReply([reordered]), raw);
    expect(diffFlows(raw, [want], all)).toMatchObject({ unchanged: 1, adds: [], modifies: [], replaces: [], deletes: [] });
    const other = parseFlow('table=1,priority=5,ip,nw_src=10.1.0.0/16,nw_dst=10.0.0.1,actions=output:2,goto_table:2');
    expect(diffFlows(raw, [other], all).modifies).toEqual([other]);
  });

  it('with the desired flows indexed, reads the same, sharing the strings of (and linking) the desired flows it equals', () => {
    const own: Ownership = { cookie: 0xab00000000n, cookieMask: 0xff00000000n, takeOverTables: new Set() };
    const equal = { ...parseFlow('table=0,priority=1,tcp,tp_dst=80,actions=output:2'), cookie: 0n };
    const otherActions = parseFlow('table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=output:1');
    const otherTimeout = { ...parseFlow('table=3,priority=7,ip,nw_dst=10.0.0.0/24,actions=goto_table:5'), cookie: 1n, flags: OFPFF.SEND_FLOW_REM };
    const masked = parseFlow('table=1,priority=5,ip,nw_src=10.1.0.0/16,actions=drop');
    const wrongCookie = parseFlow('table=2,priority=5,ip,actions=drop');
    const onSwitch = [
      ...sample,
      { ...stats('table=1,priority=5,actions=drop', 0xab00000000n), match: [{ field: 'ip_src', value: new Uint8Array([10, 1, 9, 9]), mask: new Uint8Array([255, 255, 0, 0]) }, { field: 'eth_type', value: new Uint8Array([8, 0]) }] },
      stats('table=2,priority=5,ip,actions=drop', 0xab00000007n),
      stats('table=0,priority=1,tcp,tp_dst=80,actions=output:2', 0xab00000000n),
    ]
      .filter((s, i) => i !== 1)
      .map((s) => (s.tableId === 10 ? { ...s, cookie: 0xab00000000n } : s));
    const desired = [otherTimeout, masked, equal, otherActions, wrongCookie];
    const plain = new Map<string, InstalledFlow>();
    addFlowStatsPart(statsReply(onSwitch), plain);
    const read = new Map<string, InstalledFlow>();
    addFlowStatsPart(statsReply(onSwitch), read, runSteps(indexDesiredSteps(desired, own, 2)));
    expect([...read.keys()].sort()).toEqual([...plain.keys()].sort());
    for (const [k, i] of read) expect([i.tableId, i.priority, i.cookie, i.attrs, i.fp]).toEqual([plain.get(k)!.tableId, plain.get(k)!.priority, plain.get(k)!.cookie, plain.get(k)!.attrs, plain.get(k)!.fp]);
    const linked = [...read.values()].filter((i) => i.source !== undefined).map((i) => i.source);
    expect(linked).toEqual(expect.arrayContaining([equal, masked]));
    expect(linked).toHaveLength(2);
    expect(read.get(encodedFlow(equal).key)!.fp).toBe(encodedFlow(equal).fp);
    expect(diffFlows(read, desired, own)).toMatchObject({ unchanged: 2, modifies: [otherActions], replaces: [otherTimeout, wrongCookie], adds: [], deletes: [] });
    expect(diffFlows(read, desired, own)).toEqual(diffFlows(plain, desired, own));
    // Read again with that state as the cache to reuse: the entries found as it has them are its very objects.
    const again = new Map<string, InstalledFlow>();
    addFlowStatsPart(statsReply(onSwitch), again, runSteps(indexDesiredSteps(desired, own, 2, read)));
    expect([...again].filter(([k, i]) => read.get(k) === i).map(([, i]) => i.source)).toEqual(expect.arrayContaining([equal, masked]));
    expect([...again].filter(([k, i]) => read.get(k) === i)).toHaveLength(2);
    expect(diffFlows(again, desired, own)).toEqual(diffFlows(plain, desired, own));
  });

  it('refuses to index two desired flows with one identity, or a cookie of another cookie space', () => {
    const own: Ownership = { cookie: 0xab00n, cookieMask: 0xff00n, takeOverTables: new Set() };
    const x = parseFlow('table=0,priority=1,ip,nw_dst=10.0.0.1,actions=drop');
    const y = parseFlow('table=0,priority=1,nw_dst=10.0.0.1,ip,actions=output:1');
    expect(() => runSteps(indexDesiredSteps([x, y], own, 10))).toThrow(/two flows/);
    expect(() => runSteps(indexDesiredSteps([{ ...x, cookie: 0x1100n }], own, 10))).toThrow(/outside our cookie space/);
  });

  /** A flow's identity for the property tests below, and its text. */
  const identityArb = {
    table: fc.integer({ min: 0, max: 254 }),
    priority: fc.integer({ min: 0, max: 65535 }),
    ip: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  };
  const identityText = (s: { table: number; priority: number; ip: number[]; port: number | undefined }): string =>
    `table=${s.table},priority=${s.priority},${s.port === undefined ? 'ip' : 'tcp'},nw_dst=${s.ip.join('.')}${s.port === undefined ? '' : `,tp_dst=${s.port}`}`;

  it('FlowKeyIndex finds an entry by its bytes exactly when its canonical key is there (property)', () => {
    const flowArb = fc.record({ ...identityArb, out: fc.integer({ min: 1, max: 9 }) });
    fc.assert(
      fc.property(fc.array(flowArb, { minLength: 1, maxLength: 40 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (specs, indexed) => {
        const flows = specs.map((s) => stats(`${identityText(s)},actions=output:${s.out}`));
        const index = new FlowKeyIndex(2);
        const want = new Map<string, number>();
        flows.forEach((fl, i) => {
          if (!indexed[i]) return;
          const k = canonicalFlowKey(fl);
          if (index.add(k, i) < 0) want.set(k, i);
        });
        expect(index.size).toBe(want.size);
        const seen: [string, number, boolean][] = [];
        forEachFlowStatsEntry(statsReply(flows), index, (e) => seen.push([e.key(), e.found, e.hasFingerprint(e.fingerprint())]));
        expect(seen).toEqual(flows.map((fl) => [canonicalFlowKey(fl), want.get(canonicalFlowKey(fl)) ?? -1, true]));
      }),
      { numRuns: 200 },
    );
  });

  it('checkFlowStatsFrame (the read callback\'s check, which makes no key) refuses exactly what reading refuses (property)', () => {
    // Matches OVS would send in its own order (a register after eth_type), masked, experimenter (tun_id): the ones
    // whose keys are made by sorting, where the checks beyond the lengths are.
    const good = statsReply([
      ...sample,
      stats('table=2,priority=9,tcp,reg0=0x5,nw_src=10.1.0.0/16,tp_dst=22,actions=drop'),
      stats('table=4,priority=3,tun_id=0x10/0xff,reg1=7,actions=output:3'),
    ]);
    const verdict = (run: () => void): string => {
      try {
        run();
        return 'ok';
      } catch (e) {
        return e instanceof CodecError ? 'codec' : `other: ${(e as Error).message}`;
      }
    };
    expect(verdict(() => checkFlowStatsFrame(good))).toBe('ok');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 16, max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (patches) => {
        const b = Buffer.from(good);
        for (const [at, v] of patches) b[at] = v;
        const reading = verdict(() => forEachFlowStatsEntry(b, undefined, () => undefined));
        expect(verdict(() => checkFlowStatsFrame(b))).toBe(reading);
      }),
      { numRuns: 2000 },
    );
  });

  it('forEachFlowStatsIdentity gives each entry its fixed fields, canonical key and fingerprint (property)', () => {
    const flowArb = fc.record({
      ...identityArb,
      idle: fc.integer({ min: 0, max: 65535 }),
      cookie: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      // A switch may list match fields and instructions in another order than the canonical one.
      reversed: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(flowArb, { minLength: 1, maxLength: 30 }), (specs) => {
        const flows = specs.map((s) => {
          const fl = stats(`${identityText(s)},actions=output:1,goto_table:255`, s.cookie);
          return { ...fl, idleTimeout: s.idle, match: s.reversed ? [...fl.match].reverse() : fl.match, instructions: s.reversed ? [...fl.instructions].reverse() : fl.instructions };
        });
        const seen: unknown[] = [];
        forEachFlowStatsIdentity(statsReply(flows), (e) => seen.push({ ...e }));
        expect(seen).toEqual(
          flows.map((fl) => ({
            tableId: fl.tableId,
            priority: fl.priority,
            idleTimeout: fl.idleTimeout,
            hardTimeout: 0,
            flags: 0,
            cookieHi: Number(fl.cookie >> 32n),
            cookieLo: Number(fl.cookie & 0xffffffffn),
            key: canonicalFlowKey(fl),
            fingerprint: canonicalInstructions(fl.instructions),
          })),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('throws a CodecError for entries that lie about their lengths', () => {
    const good = statsReply([sample[1]!]);
    const lie = (patch: (b: Buffer) => void): (() => void) => () => {
      const b = Buffer.from(good);
      patch(b);
      addFlowStatsPart(b, new Map());
    };
    const lieIndexed = (patch: (b: Buffer) => void): (() => void) => () => {
      const b = Buffer.from(good);
      patch(b);
      addFlowStatsPart(b, new Map(), runSteps(indexDesiredSteps([parseFlow('table=0,priority=1,tcp,tp_dst=80,actions=output:2')], all, 10)));
    };

    expect(lie((b) => b.writeUInt16BE(4000, 16))).toThrow(CodecError);
    expect(lie((b) => b.writeUInt16BE(60, 16))).toThrow(/length 60/);
    expect(lie((b) => b.writeUInt16BE(200, 16 + 50))).toThrow(/match length 200/);
    const insAt = 16 + 48 + ((good.readUInt16BE(16 + 48 + 2) + 7) & ~7);
    expect(lie((b) => b.writeUInt16BE(0x3f8, insAt + 2))).toThrow(/instruction 4 has length 1016/);
    expect(lie((b) => b.writeUInt16BE(0x1e, 16 + 48 + 4 + 2))).toThrow(/OXM .* overruns the match/);
    expect(lie((b) => b.writeUInt16BE(4, 8))).toThrow(/multipart type 4/);
    // The same checks when entries are looked up on their bytes.
    expect(lieIndexed((b) => b.writeUInt16BE(0x3f8, insAt + 2))).toThrow(/instruction 4 has length 1016/);
    expect(lieIndexed((b) => b.writeUInt16BE(0x1e, 16 + 48 + 4 + 2))).toThrow(/OXM .* overruns the match/);
  });
});

describe('flow mods written from cached bytes', () => {
  const own: Ownership = { cookie: 0x0a00n, cookieMask: 0xff00n, takeOverTables: new Set() };
  const flow: FlowMod = { ...parseFlow('table=3,priority=9,idle_timeout=7,udp,nw_dst=10.0.0.9,tp_dst=53,actions=output:1,goto_table:4'), cookie: 0x01n };

  it('encode a bundled ADD / MODIFY_STRICT exactly as the codec does', () => {
    for (const command of [OFPFC.ADD, OFPFC.MODIFY_STRICT]) {
      const buf = Buffer.alloc(1024);
      const end = opEncoder(own).encode({ kind: 'flow', command, flow }, 77, 5, 3, buf, 0);
      const m = decodeMessage(buf.subarray(0, end));
      const want = { ...flow, type: 'flow_mod' as const, xid: 77, command, cookie: 0x0a01n, cookieMask: 0n, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY };
      expect(m).toMatchObject({ type: 'bundle_add', xid: 77, bundleId: 5, bundleFlags: 3 });
      expect(Buffer.from(encodeMessage((m as { message: FlowMod & { xid: number; type: 'flow_mod' } }).message))).toEqual(encodeMessage(want));
    }
  });

  it('encode a DELETE_STRICT of an installed flow from its key', () => {
    const installed = new Map<string, InstalledFlow>();
    addFlowStatsPart(statsReply([stats('table=3,priority=9,udp,nw_dst=10.0.0.9,tp_dst=53,actions=drop', 0x0a05n)]), installed);
    const buf = Buffer.alloc(1024);
    const end = opEncoder(own).encode({ kind: 'flow_delete', flow: [...installed.values()][0]! }, 8, 1, 1, buf, 0);
    const m = decodeMessage(buf.subarray(0, end)) as { message: FlowMod };
    expect(m.message).toMatchObject({ command: OFPFC.DELETE_STRICT, tableId: 3, priority: 9, instructions: [] });
    expect(canonicalMatch(m.message.match)).toBe(canonicalMatch(flow.match));
  });
});

describe('incremental diff from the last commit', () => {
  const make = (n: number): FlowMod[] => Array.from({ length: n }, (_, i) => parseFlow(`table=0,priority=${i + 1},ip,actions=drop`));
  /** The state after committing `desired` to an empty switch, as sync keeps it. */
  function committed(desired: FlowMod[]): { installed: Map<string, InstalledFlow>; last: ReturnType<typeof linkDesired> } {
    const installed = installedFromStats([]);
    const diff = diffDesired(installed, desired, all);
    for (const f of diff.plan.adds) {
      const k = canonicalFlowKey(f);
      const i = new InstalledFlow(k, f.tableId, f.priority, 0n, flowAttributes(f), canonicalInstructions(f.instructions));
      i.source = f;
      installed.set(k, i);
    }
    return { installed, last: linkDesired(installed, desired, diff) };
  }

  it('looks only at changed positions, and still refuses a changed flow duplicating an unchanged one', () => {
    const flows = make(5);
    const { installed, last } = committed(flows);
    const next = flows.slice();
    next[1] = parseFlow('table=0,priority=2,ip,actions=output:1');
    expect(diffDesired(installed, next, all, last)).toMatchObject({ changed: [1], plan: { unchanged: 4, modifies: [next[1]], deletes: [] } });
    const dup = flows.slice();
    dup[1] = parseFlow('table=0,priority=4,ip,actions=output:1'); // same identity as the unchanged flows[3]
    expect(() => diffDesired(installed, dup, all, last)).toThrow(/two flows/);
    const twice = flows.slice();
    twice[1] = flows[3]!; // the very same object at two positions
    expect(() => diffDesired(installed, twice, all, last)).toThrow(/two flows/);
  });

  it('is not fooled by a caller editing its array in place', () => {
    const flows = make(3);
    const { installed, last } = committed(flows);
    flows[2] = parseFlow('table=0,priority=3,ip,actions=output:1');
    expect(diffDesired(installed, flows, all, last).plan.modifies).toEqual([flows[2]]);
  });
});

describe('the encoding cache of desired flows', () => {
  it('is invisible to spreads, keys, JSON and equality, and works for frozen objects', () => {
    const f = parseFlow('table=0,priority=1,ip,actions=drop');
    const e = encodedFlow(f);
    expect(encodedFlow(f)).toBe(e);
    const copy = { ...f, priority: 2 };
    expect(Object.getOwnPropertySymbols(copy)).toEqual([]);
    expect(encodedFlow(copy).key).not.toBe(e.key);
    expect(Object.keys(f)).toEqual(Object.keys(parseFlow('table=0,priority=1,ip,actions=drop')));
    expect(f).toEqual(parseFlow('table=0,priority=1,ip,actions=drop'));
    const frozen = Object.freeze(parseFlow('table=0,priority=1,ip,actions=drop'));
    expect(encodedFlow(frozen)).toEqual(e);
    expect(encodedFlow(frozen)).toBe(encodedFlow(frozen));
  });
});

describe('ChunkPool', () => {
  it('hands written chunks out again, keeps at most maxFree, and never a chunk of another size', () => {
    const pool = new ChunkPool(1024, 2);
    const a = pool.take();
    const b = pool.take();
    const c = pool.take();
    expect(new Set([a, b, c]).size).toBe(3);
    for (const x of [a, b, c]) pool.give(x);
    expect(pool.size).toBe(2);
    pool.give(Buffer.alloc(10));
    expect(pool.size).toBe(2);
    expect([pool.take(), pool.take()]).toEqual(expect.arrayContaining([a, b]));
    expect(pool.take().length).toBe(1024);
  });
});
