// Messages captured from a real ovs-vswitchd (test/fixtures/ovs-messages.json, written by scripts/gen-fixtures.ts):
// each decodes to the right type, its fields agree with what OVS printed and what the lab configured, and it
// re-encodes byte for byte.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageEncodingLength } from '../../src/openflow/message.js';
import type { Message, MessageOf, MessageType } from '../../src/openflow/types.js';
import { allCapturedMessages, capturedBytes, loadCapturedMessages, type CapturedExchange } from '../helpers/fixtures-vectors.js';

const captured = loadCapturedMessages();
const meta = captured.meta;
const byName = new Map(captured.exchanges.map((e) => [e.name, e]));

function exchange(name: string): CapturedExchange {
  const e = byName.get(name);
  if (!e) throw new Error(`no captured exchange '${name}' (regenerate with scripts/gen-fixtures.ts)`);
  return e;
}

/** The decoded messages OVS sent in exchange `name`. */
const decoded = (name: string): Message[] => exchange(name).received.map((m) => decodeMessage(capturedBytes(m)));

function only<T extends MessageType>(name: string, type: T): MessageOf<T>[] {
  const msgs = decoded(name);
  expect(msgs.length, `${name}: messages`).toBeGreaterThan(0);
  for (const m of msgs) expect(m.type, name).toBe(type);
  return msgs as MessageOf<T>[];
}

/** What each exchange must decode to: the type of every message OVS sent back. */
const expectedType: Record<string, MessageType | readonly MessageType[]> = {
  hello_of13: 'hello',
  hello_default: 'hello',
  features_reply: 'features_reply',
  get_config_reply: 'get_config_reply',
  echo_reply: 'echo_reply',
  barrier_reply: 'barrier_reply',
  desc_reply: 'desc_reply',
  flow_stats_reply: 'flow_stats_reply',
  aggregate_stats_reply: 'aggregate_stats_reply',
  table_stats_reply: 'table_stats_reply',
  port_stats_reply: 'port_stats_reply',
  queue_stats_reply: 'queue_stats_reply',
  group_stats_reply: 'group_stats_reply',
  group_desc_reply: 'group_desc_reply',
  group_features_reply: 'group_features_reply',
  meter_stats_reply: 'meter_stats_reply',
  meter_config_reply: 'meter_config_reply',
  meter_features_reply: 'meter_features_reply',
  table_features_reply: 'table_features_reply',
  port_desc_reply: 'port_desc_reply',
  queue_get_config_reply: 'queue_get_config_reply',
  role_reply_nochange: 'role_reply',
  role_reply_master: 'role_reply',
  get_async_reply_default: 'get_async_reply',
  get_async_reply_set: 'get_async_reply',
  packet_in_action: 'packet_in',
  flow_removed_delete: 'flow_removed',
  port_status_add: 'port_status',
  bundle_open_reply: 'bundle_control',
  bundle_open2_reply: 'bundle_control',
  bundle_commit_reply: 'bundle_control',
  bundle_add_unknown_group: [],
  bundle_add_good: [],
};

/** OFPT_ERRORs OVS sent for bad requests: [type, code, experimenter?] per message, and OVS's name for each. */
const expectedErrors: Record<string, readonly (readonly [number, number, number?])[]> = {
  error_bad_version: [[1, 0]], // OFPBRC_BAD_VERSION
  error_bad_type: [[1, 1]], // OFPBRC_BAD_TYPE
  error_bad_len: [[1, 6]], // OFPBRC_BAD_LEN
  error_bad_multipart: [[1, 2]], // OFPBRC_BAD_MULTIPART (OVS: OFPBRC_BAD_STAT)
  error_bad_experimenter: [[1, 3]], // OFPBRC_BAD_EXPERIMENTER (OVS: OFPBRC_BAD_VENDOR)
  error_bad_action: [[2, 0]], // OFPBAC_BAD_TYPE
  error_bad_action_len: [[2, 1]], // OFPBAC_BAD_LEN
  error_bad_prereq: [[4, 9]], // OFPBMC_BAD_PREREQ
  error_bad_table: [[5, 2]], // OFPFMFC_BAD_TABLE_ID
  error_goto_backwards: [[3, 2]], // OFPBIC_BAD_TABLE_ID
  error_unknown_group: [[2, 9]], // OFPBAC_BAD_OUT_GROUP
  bundle_add_bad_action: [[2, 0]],
  // The failing flow's error, then the commit's: ONF experimenter error OFPBFC_MSG_FAILED (2313).
  bundle_commit_error: [[2, 9], [0xffff, 2313, 0x4f4e4600]],
};

describe('captured OVS messages', () => {
  it('covers every exchange the generator records', () => {
    const known = new Set([...Object.keys(expectedType), ...Object.keys(expectedErrors)]);
    expect(captured.exchanges.map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
    expect(captured.exchanges.length).toBeGreaterThanOrEqual(40);
  });

  describe.each(allCapturedMessages(captured).map(({ name, msg }, i) => ({ name, msg, i })))('$name #$i', ({ name, msg }) => {
    it('decodes to the expected type and re-encodes byte-identically', () => {
      const bytes = capturedBytes(msg);
      const m = decodeMessage(bytes);
      const want = expectedType[name] ?? (expectedErrors[name] ? 'error' : undefined);
      if (typeof want === 'string') expect(m.type).toBe(want);
      expect(m.xid).toBe(Buffer.from(bytes).readUInt32BE(4));
      expect(messageEncodingLength(m)).toBe(bytes.length);
      expect(Buffer.from(encodeMessage(m)).equals(Buffer.from(bytes))).toBe(true);
    });
  });

  it('HELLOs: OpenFlow13-only bridge offers exactly 1.3; default bridge offers 1.0..1.6', () => {
    const [h13] = only('hello_of13', 'hello');
    expect(h13!.version).toBe(4);
    expect(h13!.versions).toEqual([4]);
    const [hd] = only('hello_default', 'hello');
    expect(hd!.version).toBe(exchange('hello_default').received[0]!.hex!.startsWith('06') ? 6 : 5);
    const printed = /version bitmap: (.*)/.exec(exchange('hello_default').received[0]!.print)?.[1];
    expect(printed).toBeDefined();
  });

  it('FEATURES_REPLY: dpid, n_tables, capabilities as printed', () => {
    const [f] = only('features_reply', 'features_reply');
    expect(f!.datapathId).toBe(BigInt(`0x${meta.datapathId}`));
    const print = exchange('features_reply').received[0]!.print;
    expect(f!.nTables).toBe(Number(/n_tables:(\d+)/.exec(print)![1]));
    expect(f!.nBuffers).toBe(Number(/n_buffers:(\d+)/.exec(print)![1]));
    expect(f!.auxiliaryId).toBe(0);
  });

  it('PORT_DESC: every port the lab created, with its number and name', () => {
    const ports = only('port_desc_reply', 'port_desc_reply').flatMap((m) => m.ports);
    const got = Object.fromEntries(ports.map((p) => [p.name, p.portNo]));
    for (const [name, no] of Object.entries(meta.ports)) expect(got[name], name).toBe(no);
    for (const p of ports) expect(p.hwAddr).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  it('DESC: manufacturer and software version', () => {
    const [d] = only('desc_reply', 'desc_reply');
    expect(d!.mfrDesc).toBe('Nicira, Inc.');
    expect(meta.ovsVersion).toContain(d!.swDesc);
  });

  it('FLOW stats: one entry per flow in br0, agreeing with the aggregate', () => {
    const parts = only('flow_stats_reply', 'flow_stats_reply');
    const flows = parts.flatMap((p) => p.flows);
    expect(flows.length).toBe(meta.flowCount);
    const [agg] = only('aggregate_stats_reply', 'aggregate_stats_reply');
    expect(agg!.flowCount).toBe(meta.flowCount);
    parts.forEach((p, i) => expect(p.flags & 1, `part ${i} REPLY_MORE`).toBe(i < parts.length - 1 ? 1 : 0));
    const tables = new Set(flows.map((f) => f.tableId));
    for (const t of [0, 10, 50, 60]) expect(tables.has(t), `table ${t}`).toBe(true);
    expect(flows.some((f) => f.cookie === 0xffffffffffffffffn && f.priority === 65535 && f.tableId === 3)).toBe(true);
    // Each flow's counters and fields as ovs-ofctl printed them (cookie and table of the first entries).
    const print = exchange('flow_stats_reply').received.map((m) => m.print).join('\n');
    const printed = [...print.matchAll(/cookie=(0x[0-9a-f]+), duration=[^,]+, table=(\d+)/g)].map((x) => [BigInt(x[1]!), Number(x[2])]);
    expect(printed.length).toBe(flows.length);
    expect(flows.map((f) => [f.cookie, f.tableId])).toEqual(printed);
  });

  it('TABLE_FEATURES: a multi-part reply covering every table once', () => {
    const parts = only('table_features_reply', 'table_features_reply');
    expect(parts.length).toBeGreaterThan(1);
    parts.forEach((p, i) => expect(p.flags & 1, `part ${i} REPLY_MORE`).toBe(i < parts.length - 1 ? 1 : 0));
    const ids = parts.flatMap((p) => p.tables.map((t) => t.tableId));
    expect(new Set(ids).size).toBe(ids.length);
    const [f] = only('features_reply', 'features_reply');
    expect(ids.length).toBe(f!.nTables);
    for (const t of parts.flatMap((p) => p.tables)) expect(t.properties.length).toBeGreaterThan(0);
  });

  it('TABLE/PORT stats, groups, meters: counts agree with the lab', () => {
    const [f] = only('features_reply', 'features_reply');
    expect(only('table_stats_reply', 'table_stats_reply').flatMap((m) => m.tables).length).toBe(f!.nTables);
    const portStats = only('port_stats_reply', 'port_stats_reply').flatMap((m) => m.ports);
    expect(portStats.length).toBe(Number(/(\d+) ports/.exec(exchange('port_stats_reply').received[0]!.print)![1]));
    const groups = only('group_desc_reply', 'group_desc_reply').flatMap((m) => m.groups);
    expect(groups.map((g) => g.groupId).sort((a, b) => a - b)).toEqual([1, 7, 100, 200, 201, 4294967040]);
    expect(only('group_stats_reply', 'group_stats_reply').flatMap((m) => m.groups).length).toBe(6);
    const meters = only('meter_config_reply', 'meter_config_reply').flatMap((m) => m.meters);
    expect(meters.map((m) => m.meterId).sort((a, b) => a - b)).toEqual([1, 2, 5]);
    expect(meters.find((m) => m.meterId === 2)!.bands[0]!.rate).toBe(2000);
    const [mf] = only('meter_features_reply', 'meter_features_reply');
    expect(mf!.maxMeter).toBeGreaterThan(0);
    const [gf] = only('group_features_reply', 'group_features_reply');
    expect(gf!.types).not.toBe(0);
  });

  it('GET_CONFIG, ROLE, GET_ASYNC replies', () => {
    const [c] = only('get_config_reply', 'get_config_reply');
    expect(c!.missSendLen).toBe(Number(/miss_send_len=(\d+)/.exec(exchange('get_config_reply').received[0]!.print)![1]));
    const [r0] = only('role_reply_nochange', 'role_reply');
    expect(r0!.role).toBe(1); // OFPCR_ROLE_EQUAL
    const [r1] = only('role_reply_master', 'role_reply');
    expect(r1!.role).toBe(2);
    expect(r1!.generationId).toBe(5n);
    const [a] = only('get_async_reply_set', 'get_async_reply');
    expect(a!.packetInMask).toEqual([7, 7]);
    expect(a!.portStatusMask).toEqual([7, 7]);
    expect(a!.flowRemovedMask).toEqual([15, 15]);
  });

  it('ECHO_REPLY carries the payload; async messages decode with their fields', () => {
    const [e] = only('echo_reply', 'echo_reply');
    expect(Buffer.from(e!.data).toString()).toBe('minicloud-ok');
    const [pi] = only('packet_in_action', 'packet_in');
    expect(pi!.reason).toBe(1); // OFPR_ACTION
    expect(pi!.data.length).toBe(pi!.totalLen);
    expect(Buffer.from(pi!.data.subarray(12, 14)).readUInt16BE(0)).toBe(0x0806);
    const [fr] = only('flow_removed_delete', 'flow_removed');
    expect([fr!.cookie, fr!.priority, fr!.tableId, fr!.reason]).toEqual([0xabcn, 77, 5, 2]);
    const [ps] = only('port_status_add', 'port_status');
    expect([ps!.reason, ps!.port.name, ps!.port.portNo]).toEqual([0, 'p9', 9]);
  });

  it('bundle control replies echo the bundle ids and reply types', () => {
    const [o1] = only('bundle_open_reply', 'bundle_control');
    expect([o1!.bundleId, o1!.ctrlType]).toEqual([1, 1]); // OPEN_REPLY
    const [c2] = only('bundle_commit_reply', 'bundle_control');
    expect([c2!.bundleId, c2!.ctrlType]).toEqual([2, 5]); // COMMIT_REPLY (OVS answers with flags 0)
  });

  describe.each(Object.entries(expectedErrors))('OFPT_ERROR %s', (name, want) => {
    it('decodes to the error type/code OVS printed', () => {
      const msgs = decoded(name);
      expect(msgs.map((m) => m.type)).toEqual(want.map(() => 'error'));
      msgs.forEach((m, i) => {
        if (m.type !== 'error') return;
        const [t, c, x] = want[i]!;
        expect([m.errType, m.code]).toEqual([t, c]);
        if (x !== undefined) expect(m.experimenter).toBe(x);
        // The data is (the start of) the request that failed: its xid is the error's.
        expect(m.data.length).toBeGreaterThanOrEqual(8);
        expect(Buffer.from(m.data).readUInt32BE(4)).toBe(m.xid);
      });
    });
  });
});
