// The OpenFlow generation id of a leader (docs/architecture.md, "Generations across a restore"): a switch refuses a
// role request whose generation is lower than the highest it was given (OFPRRFC_STALE), so generations must grow
// for as long as a switch runs, across leader changes *and* across a move of the control plane to another etcd
// cluster (a restore into fresh members, whose revisions start again from 1).
//
//   generation = epoch * 2^40 + create revision of the leader's election key
//
// Within one cluster the epoch is fixed and revisions only grow. The epoch is a meta value of the store
// (`generation-epoch`), carried by backups like every meta value; a restore sets it above both the backup's and the
// target's, and at least to the hours since 2026-01-01 UTC, so that restoring one old backup twice, hours apart, into
// two fresh clusters still moves forward. 2^40 revisions (10^12) is more than a cluster writes in its life; 2^23
// epochs keep every generation below 2^63 (OVS compares them as a signed 64-bit difference).
export const GENERATION_EPOCH_META = 'generation-epoch';

const REVISION_BITS = 40n;
export const MAX_GENERATION_EPOCH = 2 ** 23 - 1;
const CLOCK_ORIGIN_MS = Date.UTC(2026, 0, 1);

export class GenerationEpochError extends Error {
  override readonly name = 'GenerationEpochError';
}

/** The epoch a stored value holds: absent is 0 (a cluster never restored into); anything else but 0..2^23-1 is refused. */
export function parseGenerationEpoch(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = /^(0|[1-9]\d{0,6})$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_GENERATION_EPOCH) {
    throw new GenerationEpochError(`meta ${GENERATION_EPOCH_META} is ${JSON.stringify(value.slice(0, 40))}: not an integer 0..${MAX_GENERATION_EPOCH}`);
  }
  return n;
}

/** The generation id a leader whose election key has `createRevision` claims in `epoch`. */
export function generationOf(epoch: number, createRevision: bigint): bigint {
  return (BigInt(epoch) << REVISION_BITS) + createRevision;
}

/** The epoch and revision a generation was made of (logs, readyz). */
export function splitGeneration(generation: bigint): { epoch: number; revision: bigint } {
  return { epoch: Number(generation >> REVISION_BITS), revision: generation & ((1n << REVISION_BITS) - 1n) };
}

/** The epoch a restore gives its target: above the backup's and the target's, and not below the clock's hours. */
export function nextGenerationEpoch(backupEpoch: number, targetEpoch: number, now: Date): number {
  const hours = Math.max(0, Math.floor((now.getTime() - CLOCK_ORIGIN_MS) / 3_600_000));
  const next = Math.max(backupEpoch + 1, targetEpoch + 1, Math.min(hours, MAX_GENERATION_EPOCH));
  if (next > MAX_GENERATION_EPOCH) throw new GenerationEpochError(`the generation epoch would pass ${MAX_GENERATION_EPOCH}`);
  return next;
}
