// Sharing the event loop with switches that are connecting.
//
// Node 20 (libuv >= 1.45, "unix: don't accept() connections in a loop") accepts at most one pending connection per
// event-loop turn, and Open vSwitch drops a connection whose HELLO it has not received about 1 s after it connected
// (lib/rconn.c, CONNECTING state: max(1 s, backoff); then it backs off and retries). When N switches connect at
// once, the last one is accepted N turns later, so every turn spent on sync work while connections are pending
// delays all of them. Sync work therefore goes through a TurnGate: in chunks, none in a turn in which a connection
// was accepted, about 2 ms' worth per turn while connections keep arriving, and about 10 ms' worth otherwise. A
// connection's own HELLO goes out as soon as it is accepted.
import { performance } from 'node:perf_hooks';

/** Awaited by sync work between chunks of CPU work. */
export type Pause = () => Promise<void>;

/** The next event-loop turn, nothing else (what sync work does without a gate). */
export const nextTurn: Pause = () => new Promise((resolve) => setImmediate(resolve));

export class TurnGate {
  private arrived = false;
  private lastArrival = -Infinity;
  private readonly waiters: (() => void)[] = [];
  private scheduled = false;
  private deferredSince: number | undefined;

  /**
   * `budgetMs`: chunks are let through in a turn until this much time has passed in it (the chunk started last
   * may run over); `stormBudgetMs` while a connection arrived in the last `stormMs`. `maxDeferMs`: while
   * connections keep arriving in every turn, sync work still gets a turn after this long.
   */
  constructor(
    private readonly budgetMs = 10,
    private readonly maxDeferMs = 250,
    private readonly stormMs = 100,
    private readonly stormBudgetMs = 2,
  ) {}

  /** A connection was accepted (or connected) in this turn. */
  noteConnection(): void {
    this.arrived = true;
    this.lastArrival = performance.now();
  }

  /** Waiting chunks of work. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves in a later turn in which no connection arrived, first come first served. */
  readonly pass: Pause = () =>
    new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });

  private schedule(): void {
    if (this.scheduled || this.waiters.length === 0) return;
    this.scheduled = true;
    // The check phase runs right after the poll phase, where connections are accepted.
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    // A waiter let through late in the last turn may have taken what this turn was scheduled for.
    if (this.waiters.length === 0) return;
    const now = performance.now();
    const deferring = this.arrived && (this.deferredSince === undefined || now - this.deferredSince < this.maxDeferMs);
    this.arrived = false;
    if (deferring) {
      this.deferredSince ??= now;
      this.schedule();
      return;
    }
    this.deferredSince = undefined;
    this.release(now, now - this.lastArrival < this.stormMs ? this.stormBudgetMs : this.budgetMs);
  }

  /** Lets the first waiter run, then the next one after it while the turn's budget lasts. */
  private release(turnStart: number, budgetMs: number): void {
    this.waiters.shift()!();
    // The waiter's chunk runs in the microtask its resolution just queued; this check runs right after it.
    queueMicrotask(() => {
      if (this.waiters.length > 0 && performance.now() - turnStart < budgetMs) this.release(turnStart, budgetMs);
      else this.schedule();
    });
  }
}

/**
 * Runs a generator that yields between bounded chunks of CPU work (the pipeline's Steps), awaiting `pause` at each
 * yield: long work (indexing a cloud, building shared rows) then takes many short turns instead of one long one.
 */
export async function runInTurns<T>(steps: Iterator<void, T, void>, pause: Pause): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

/** Runs jobs at most `max` at a time (Infinity: all at once), in arrival order. */
export class JobQueue {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new Error(`JobQueue: max must be at least 1 (got ${max})`);
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.active;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((resolve) => this.queue.push(resolve)); // the finishing job hands its slot over
    try {
      return await job();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
