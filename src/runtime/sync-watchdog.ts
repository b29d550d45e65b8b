// The last bound on a sync: every request inside one has a timeout of its own, but a sync also waits for things no
// request timeout covers (the desired-state callback, the turn gate, a reply part that is never compared because a
// bug lost its wake-up). A sync that holds its slot longer than the watchdog allows closes its connection: the
// switch reconnects and gets a fresh sync, and the slot (maxConcurrentSyncs) goes to the next switch instead of
// being held for ever, which would leave every switch queued behind it never synced.
import type { OfConnection } from './connection.js';
import { SyncTimeoutError } from './errors.js';

/** Longest delay setTimeout keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `job`; after `timeoutMs` without it ending, closes `conn` and rejects with SyncTimeoutError. 0, Infinity or
 * anything beyond a timer's range: no watchdog.
 */
export async function withSyncWatchdog<T>(conn: OfConnection, job: () => Promise<T>, timeoutMs: number): Promise<T> {
  if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) return job();
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new SyncTimeoutError(conn.label, timeoutMs);
      // Closing rejects whatever the job still waits for on this connection; the job's own end is no longer awaited.
      conn.close(err.message, err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([job(), stuck]);
  } finally {
    clearTimeout(timer);
  }
}
