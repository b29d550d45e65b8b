// Compiling across revisions: a context made with the last revision's context takes every flow equal to one it built
// from there (so a sync sees one pointer per unchanged flow), and the result is the same list a fresh compile gives.
// Long work yields between bounded chunks (steps.ts) and gives the same result as running it in one go.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexCloud, indexCloudSteps } from '../../src/pipeline/cloud-index.js';
import { compileNode, sharedRowsSteps } from '../../src/pipeline/compile.js';
import { sameValue } from '../../src/pipeline/same-flow.js';
import { CompileContext } from '../../src/pipeline/stage.js';
import { runSteps } from '../../src/pipeline/steps.js';
import { syntheticCloud } from '../../src/topology/examples.js';
import type { Cloud, Vm } from '../../src/topology/model.js';

const ports = new Map([
  ['vxlan-int', 1],
  ['vxlan-sw', 2],
]);

/** The cloud with one more VM on `node`, in the last subnet (which has room: 300 VMs is not a multiple of 29). */
function withVm(cloud: Cloud, node: string, name = 'vm-added'): Cloud {
  const s = cloud.subnets.at(-1)!;
  const used = new Set(cloud.vms.filter((v) => v.subnet === s.name).map((v) => v.ip));
  const base = s.cidr.split('/')[0]!.split('.').map(Number);
  let ip = '';
  for (let i = 2; i < 31 && !ip; i++) {
    const candidate = [base[0], base[1], base[2], base[3]! + i].join('.');
    if (!used.has(candidate)) ip = candidate;
  }
  const vm: Vm = { name, subnet: s.name, node, gateway: 'gw0', ip, mac: '02:fe:00:00:00:01', port: `tap-${name}` };
  return { ...cloud, vms: [...cloud.vms, vm] };
}

/** Counts the yields of a generator run to its end; returns them with its result. */
function drain<T>(g: Generator<void, T, void>): { yields: number; value: T } {
  let yields = 0;
  for (;;) {
    const r = g.next();
    if (r.done) return { yields, value: r.value };
    yields++;
  }
}

describe('compiling with the last revision', () => {
  const cloud = syntheticCloud({ computeNodes: 4, vms: 300 });
  const before = new CompileContext(indexCloud(cloud));
  const old = new Map(['c0', 'c1', 'gw0', 'switch'].map((n) => [n, compileNode(before, n, ports)]));

  it('reuses every flow it can and compiles the same list as a fresh context', () => {
    const next = withVm(cloud, 'c1');
    const ctx = new CompileContext(indexCloud(next), { previous: before });
    const counts = new Map<string, number>();
    for (const [node, was] of old) {
      const got = compileNode(ctx, node, ports);
      expect(got).toEqual(compileNode(new CompileContext(indexCloud(next)), node, ports));
      const previous = new Set(was);
      const fresh = got.filter((f) => !previous.has(f));
      // Only the new VM's rows (and rows listing the VMs of its subnet or node) are new objects.
      counts.set(node, fresh.length);
      expect(fresh.length).toBeLessThan(12);
      for (const f of fresh) expect(was.some((w) => sameValue(w, f))).toBe(false);
    }
    // Every compute node and gateway gets the new VM's rows.
    for (const node of ['c0', 'c1', 'gw0']) expect(counts.get(node)).toBeGreaterThan(0);
  });

  it('gives the same objects again for the same node and ports within a revision', () => {
    const ctx = new CompileContext(indexCloud(cloud), { previous: before });
    const a = compileNode(ctx, 'c2', ports);
    const b = compileNode(ctx, 'c2', new Map([...ports].reverse()));
    expect(b).not.toBe(a);
    expect(b.every((f, i) => f === a[i])).toBe(true);
  });

  it('keeps one generation back only', () => {
    const c2 = new CompileContext(indexCloud(cloud), { previous: before });
    const c3 = new CompileContext(indexCloud(cloud), { previous: c2 });
    expect(c3.previous).toBe(c2);
    expect(c2.previous).toBeUndefined();
  });

  it('sameValue is structural equality on flow-shaped values', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.bigInt(),
        fc.string({ maxLength: 3 }),
        fc.constant(undefined),
        fc.uint8Array({ maxLength: 4 }),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('v'), { maxKeys: 3, noNullPrototype: true }),
      ),
    })).v;
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(sameValue(a, structuredClone(a))).toBe(true);
        expect(sameValue(a, b)).toBe(JSON.stringify(a, jsonable) === JSON.stringify(b, jsonable));
      }),
      { numRuns: 300 },
    );
  });
});

/** JSON with bigints, byte arrays and undefined told apart from numbers, plain arrays and absent keys. */
function jsonable(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `bigint:${v}`;
  if (v instanceof Uint8Array) return `bytes:${[...v].join(',')}`;
  if (v === undefined) return 'undefined';
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  return v;
}

describe('long work in steps', () => {
  const cloud = syntheticCloud({ computeNodes: 6, vms: 2_000 });

  it('indexCloudSteps yields between chunks and indexes as indexCloud does', () => {
    const { yields, value } = drain(indexCloudSteps(cloud));
    expect(yields).toBeGreaterThan(10);
    const whole = indexCloud(cloud);
    expect([...value.vms.keys()]).toEqual([...whole.vms.keys()]);
    expect(value.vmList.map((v) => v.vm)).toEqual(whole.vmList.map((v) => v.vm));
    expect([...value.vmByAddress]).toEqual([...whole.vmByAddress]);
  });

  it('indexCloudSteps refuses an invalid cloud as indexCloud does', () => {
    const bad = { ...cloud, vms: [...cloud.vms, { ...cloud.vms[0]!, name: 'twin' }] };
    expect(() => runSteps(indexCloudSteps(bad))).toThrow(/duplicate VM IP/);
  });

  it('the shared rows built in steps are the ones compileNode uses', () => {
    const ctx = new CompileContext(indexCloud(cloud));
    const shared = sharedRowsSteps(ctx, 'c3', ports)!;
    expect(drain(shared.steps).yields).toBeGreaterThan(5);
    const a = compileNode(ctx, 'c3', ports);
    const b = compileNode(ctx, 'c4', ports);
    // The rows of VMs hosted on neither node are the very same objects.
    expect(a.filter((f) => b.includes(f)).length).toBeGreaterThan(1_900);
    expect(a).toEqual(compileNode(new CompileContext(indexCloud(cloud)), 'c3', ports));
  });
});
