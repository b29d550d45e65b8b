// OverlayMap: a map plus changes behaves exactly like the map with those changes applied.
import { describe, expect, it } from 'vitest';
import { OverlayMap } from '../../src/pipeline/overlay-map.js';

describe('OverlayMap', () => {
  it('adds, replaces and deletes without touching the base', () => {
    const base = new Map([['a', 1], ['b', 2]]);
    let m: ReadonlyMap<string, number> = base;
    m = OverlayMap.with(m, 'c', 3);
    m = OverlayMap.with(m, 'a', 10);
    m = OverlayMap.with(m, 'b', undefined);
    expect([...m].sort()).toEqual([['a', 10], ['c', 3]]);
    expect(m.size).toBe(2);
    expect(m.has('b')).toBe(false);
    expect(m.get('a')).toBe(10);
    expect([...base]).toEqual([['a', 1], ['b', 2]]);
  });

  it('collapses into a plain Map after many changes, keeping the content', () => {
    let m: ReadonlyMap<number, number> = new Map();
    const want = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      m = OverlayMap.with(m, i % 50, i);
      want.set(i % 50, i);
      if (i % 7 === 0) {
        m = OverlayMap.with(m, i % 50, undefined);
        want.delete(i % 50);
      }
    }
    expect(new Map(m)).toEqual(want);
    expect(m.size).toBe(want.size);
  });
});
