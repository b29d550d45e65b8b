// Long pipeline work (indexing a cloud, building the rows every node shares) as a generator that yields between
// bounded chunks, so that a caller with an event loop to keep can give other work its turn in between (the runtime
// drives it with its pause); `runSteps` runs one to the end in one go. Still pure: a yield is not I/O.

/** Work that yields between chunks and returns a T at the end. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end at once (for callers with nothing to interleave). */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Items per chunk for per-VM work: about a millisecond of one core per chunk for the costliest of them (a VM's
 * rows of every stage), so that a turn's budget (turns.ts: 2-10 ms) is cut at about that grain.
 */
export const STEP_ITEMS = 200;
