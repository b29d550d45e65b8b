// diffFlows: identity is (table, priority, match); instructions or cookie changes are modifies.
import { describe, expect, it } from 'vitest';
import { OFPFC } from '../../src/openflow/consts.js';
import { cookieFor } from '../../src/pipeline/cookie.js';
import { diffFlows, diffSize, flowKey } from '../../src/pipeline/diff.js';
import { macBytes, oxm, u32 } from '../../src/pipeline/fields.js';
import { flow, output } from '../../src/pipeline/flow.js';
import { TABLE } from '../../src/pipeline/tables.js';

const c = cookieFor('vm', 1, 'endpoint');
const row = (port: number, out: number, cookie = c) =>
  flow({ table: TABLE.UNICAST, priority: 15, cookie, match: [oxm('in_port', u32(port)), oxm('eth_dst', macBytes('02:00:00:00:00:01'))], actions: [output(out)] });

describe('diffFlows', () => {
  it('nothing to do for equal lists, even with different objects', () => {
    expect(diffSize(diffFlows([row(1, 2), row(2, 3)], [row(2, 3), row(1, 2)]))).toBe(0);
  });

  it('adds, deletes (DELETE_STRICT) and modifies (MODIFY_STRICT) by (table, priority, match)', () => {
    const d = diffFlows([row(1, 2), row(2, 3)], [row(2, 4), row(3, 5)]);
    expect(d.adds.map(flowKey)).toEqual([flowKey(row(3, 5))]);
    expect(d.deletes).toHaveLength(1);
    expect(d.deletes[0]).toMatchObject({ command: OFPFC.DELETE_STRICT, instructions: [], priority: 15, tableId: TABLE.UNICAST });
    expect(d.modifies).toHaveLength(1);
    expect(d.modifies[0]).toMatchObject({ command: OFPFC.MODIFY_STRICT, instructions: row(2, 4).instructions });
  });

  it('a cookie change is an ADD (OF1.3 modify keeps the old cookie)', () => {
    const d = diffFlows([row(1, 2)], [row(1, 2, cookieFor('vm', 2, 'endpoint'))]);
    expect(d.modifies).toHaveLength(1);
    expect(d.modifies[0]!.command).toBe(OFPFC.ADD);
  });

  it('match field order does not change identity', () => {
    const a = row(1, 2);
    const b = { ...a, match: [...a.match].reverse() };
    expect(flowKey(a)).toBe(flowKey(b));
  });
});
