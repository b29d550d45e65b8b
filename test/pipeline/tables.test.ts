// The pipeline declaration holds for every flow the stages produce: declared tables, forward gotos only, named
// priorities, a miss row per table, no duplicate identities, OXM prerequisites in order, our cookies everywhere.
import { describe, expect, it } from 'vitest';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { describeCookie, cookieFor, isOurs, OURS, OURS_MASK, OWNER_MASK } from '../../src/pipeline/cookie.js';
import { flow } from '../../src/pipeline/flow.js';
import { checkGoto, PRIORITY, TABLE, TABLES } from '../../src/pipeline/tables.js';
import { diffFlows } from '../../src/runtime/diff.js';
import { referenceCloudWithGroups, syntheticCloud } from '../../src/topology/examples.js';
import { compileReference } from './fixtures.js';

const ref = compileReference();
const big = compileReference(syntheticCloud({ computeNodes: 6, vms: 120, vmsPerSubnet: 10 }));
const groups = compileReference(referenceCloudWithGroups());

describe('tables.ts', () => {
  it('declares the seed table numbers, forward gotos only', () => {
    expect(TABLES.map((t) => t.id)).toEqual([0, 1, 2, 3, 10, 20, 30, 31, 32, 50, 60]);
    for (const t of TABLES) for (const n of t.next) expect(n).toBeGreaterThan(t.id);
  });

  it('flow() refuses an undeclared table or goto', () => {
    expect(() => flow({ table: 7, priority: 1, cookie: OURS, match: [] })).toThrow(/not declared/);
    expect(() => flow({ table: TABLE.BROADCAST, priority: 1, cookie: OURS, match: [], goto: TABLE.UNICAST })).toThrow(/not declared/);
    expect(() => checkGoto(TABLE.FLOOD, TABLE.CLASSIFY)).toThrow();
  });

  for (const [name, compiled] of [['reference', ref] as const, ['synthetic', big] as const, ['security-group', groups] as const]) {
    describe(`every flow of the ${name} cloud`, () => {
      const all = [...compiled.flows.entries()];

      it('is in a declared table, goes only to declared next tables, with a named priority', () => {
        const bad: string[] = [];
        for (const [node, flows] of all) {
          for (const f of flows) {
            const decl = TABLES.find((t) => t.id === f.tableId);
            const named = decl && (Object.values(PRIORITY[f.tableId as keyof typeof PRIORITY]) as number[]).includes(f.priority);
            const gotos = f.instructions.every((i) => i.type !== 'goto_table' || decl?.next.includes(i.tableId));
            if (!decl || !named || !gotos) bad.push(`${node}: ${formatFlow(f)}`);
          }
        }
        expect(bad).toEqual([]);
      });

      it('every bridged node has a priority-0 row in every table', () => {
        for (const [node, flows] of all) {
          if (!flows.length) continue;
          for (const t of TABLES) expect(flows.some((f) => f.tableId === t.id && f.priority === 0 && f.match.length === 0), `${node} table ${t.id}`).toBe(true);
        }
      });

      it('has no two flows with the same (table, priority, match) on a node', () => {
        // The sync's own identity: its diff refuses a desired list with two flows of one identity.
        const ours = { cookie: OURS, cookieMask: OURS_MASK, takeOverTables: new Set<number>() };
        for (const [node, flows] of all) expect(() => diffFlows(new Map(), flows, ours), node).not.toThrow();
      });

      it('lists OXM prerequisites before the fields that need them', () => {
        const bad: string[] = [];
        for (const [, flows] of all) {
          for (const f of flows) {
            const names = f.match.map((m) => m.field);
            for (const [i, n] of names.entries()) {
              // Registry names: nw_proto (ip_proto), ip_src/ip_dst (ipv4_*).
              if (/^(arp_|ip_|nw_proto)/.test(n) && !names.slice(0, i).includes('eth_type')) bad.push(formatFlow(f));
              if (/^udp_/.test(n) && !names.slice(0, i).includes('nw_proto')) bad.push(formatFlow(f));
            }
          }
        }
        expect(bad).toEqual([]);
      });

      it('carries our cookie', () => {
        for (const [, flows] of all) expect(flows.filter((f) => !isOurs(f.cookie))).toEqual([]);
      });
    });
  }
});
describe('cookie scheme', () => {
  it('encodes owner, stage and id, and selects by owner across stages', () => {
    const c = cookieFor('vm', 0xc0a8140a, 'compute');
    expect(describeCookie(c)).toEqual({ owner: 'vm', stage: 'compute', id: 0xc0a8140a });
    expect(c & OURS_MASK).toBe(OURS);
    expect(c & OWNER_MASK).toBe(cookieFor('vm', 0xc0a8140a, 'endpoint') & OWNER_MASK);
    expect(describeCookie(0x1234n)).toBeUndefined();
  });
});
