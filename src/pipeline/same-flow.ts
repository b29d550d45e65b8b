// Structural equality of compiled flows, for reusing the objects of the last compile: a flow object the sync has
// seen before costs it one pointer comparison, a new one an encoding and a map lookup on every node that has it.

/** Whether `a` and `b` are the same value: plain objects, arrays, byte arrays, bigints and other primitives. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Uint8Array) {
    if (!(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(b) || b instanceof Uint8Array || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  // for-in rather than Object.keys: no arrays allocated (this runs for every flow of every recompiled node).
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    n++;
    if (!Object.hasOwn(b, k) || !sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  for (const k in b) if (Object.hasOwn(b, k)) n--;
  return n === 0;
}

/**
 * `next` with each flow replaced by the flow at the same position of `prev` when the two are equal (`next` itself
 * when nothing could be reused). Lists of different lengths are not aligned: nothing is reused from them.
 */
export function reuseFlows<T>(prev: readonly T[] | undefined, next: T[]): T[] {
  if (prev === undefined || prev.length !== next.length) return next;
  for (let i = 0; i < next.length; i++) if (next[i] !== prev[i] && sameValue(next[i], prev[i])) next[i] = prev[i]!;
  return next;
}
