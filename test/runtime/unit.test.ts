// Pure parts of the runtime: endpoint parsing, canonical flow identity, the diff.
import { describe, expect, it } from 'vitest';
import { OFPFF } from '../../src/openflow/consts.js';
import { parseFlow } from '../../src/openflow/flow-text.js';
import type { FlowStats, OxmField } from '../../src/openflow/types.js';
import { diffFlows, installedFromStats, type Ownership } from '../../src/runtime/diff.js';
import { formatEndpoint, parseEndpoint } from '../../src/runtime/endpoint.js';
import { flowAttributes, flowKey, instructionsFingerprint, matchKey } from '../../src/runtime/flow-key.js';

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
    expect(matchKey(a)).toBe(matchKey([...a].reverse()));
    expect(matchKey(a)).not.toBe(matchKey([f('eth_type', [8, 0]), f('ip_dst', [10, 0, 0, 2])]));
  });

  it('normalises masks: all-ones is exact, all-zeros is absent, value bits outside the mask are ignored', () => {
    const exact = [f('ip_dst', [10, 0, 0, 1])];
    expect(matchKey([f('ip_dst', [10, 0, 0, 1], [255, 255, 255, 255])])).toBe(matchKey(exact));
    expect(matchKey([f('eth_type', [8, 0]), f('ip_src', [1, 2, 3, 4], [0, 0, 0, 0])])).toBe(matchKey([f('eth_type', [8, 0])]));
    expect(matchKey([f('ip_dst', [10, 0, 0, 77], [255, 255, 255, 0])])).toBe(matchKey([f('ip_dst', [10, 0, 0, 0], [255, 255, 255, 0])]));
  });

  it('keys on table and priority too; attributes keep only state flags', () => {
    const x = parseFlow('table=1,priority=5,ip,actions=drop');
    expect(flowKey(x)).not.toBe(flowKey({ ...x, priority: 6 }));
    expect(flowKey(x)).not.toBe(flowKey({ ...x, tableId: 2 }));
    expect(flowAttributes({ ...x, flags: OFPFF.CHECK_OVERLAP })).toBe(flowAttributes(x));
    expect(flowAttributes({ ...x, flags: OFPFF.SEND_FLOW_REM })).not.toBe(flowAttributes(x));
  });

  it('fingerprints instructions in execution order, an empty apply_actions being none', () => {
    const goto = { type: 'goto_table' as const, tableId: 3 };
    const apply = { type: 'apply_actions' as const, actions: [{ type: 'output' as const, port: 1, maxLen: 0 }] };
    expect(instructionsFingerprint([goto, apply])).toBe(instructionsFingerprint([apply, goto]));
    expect(instructionsFingerprint([{ type: 'apply_actions', actions: [] }])).toBe(instructionsFingerprint([]));
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
