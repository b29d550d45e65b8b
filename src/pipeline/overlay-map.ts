// A ReadonlyMap that is another map plus a few changes, so deriving "the index with one more VM" does not copy a
// 10,000-entry map. Layers collapse into a plain Map once they hold more than a few dozen changes, which keeps
// lookups O(1) and the amortised cost of a change O(1).

const DELETED = Symbol('deleted');
const MAX_CHANGES = 64;

export class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly changes: ReadonlyMap<K, V | typeof DELETED>,
    readonly size: number,
  ) {}

  /** `base` with `key` set to `value`, or deleted when `value` is undefined. */
  static with<K, V>(base: ReadonlyMap<K, V>, key: K, value: V | undefined): ReadonlyMap<K, V> {
    const inner = base instanceof OverlayMap ? (base as OverlayMap<K, V>) : undefined;
    const root = inner ? inner.base : base;
    const changes = new Map<K, V | typeof DELETED>(inner ? inner.changes : []);
    const had = base.has(key);
    changes.set(key, value === undefined ? DELETED : value);
    const size = base.size + (value === undefined ? (had ? -1 : 0) : had ? 0 : 1);
    const next = new OverlayMap<K, V>(root, changes, size);
    return changes.size > MAX_CHANGES ? new Map(next) : next;
  }

  get(key: K): V | undefined {
    const c = this.changes.get(key);
    if (c === DELETED) return undefined;
    return c !== undefined ? c : this.base.get(key);
  }

  has(key: K): boolean {
    const c = this.changes.get(key);
    return c === DELETED ? false : c !== undefined || this.base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) {
      const c = this.changes.get(k);
      if (c === undefined) yield [k, v];
      else if (c !== DELETED) yield [k, c];
    }
    for (const [k, c] of this.changes) if (c !== DELETED && !this.base.has(k)) yield [k, c];
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}
