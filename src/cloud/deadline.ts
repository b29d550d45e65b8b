// A deadline for a step we cannot cancel (a VM backend call on a node): the caller stops waiting, the step goes on.

/** The step did not finish in time; `running` settles when it does (it never rejects). */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(
    what: string,
    readonly ms: number,
    readonly running: Promise<void>,
  ) {
    super(`${what} timed out after ${formatMs(ms)} (it may still be running on the node)`);
  }
}

/** `step`'s outcome, or a DeadlineExceeded after `ms`. */
export async function withDeadline<T>(step: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const running = step.then(
    () => undefined,
    () => undefined,
  );
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(what, ms, running)), ms);
  });
  try {
    return await Promise.race([step, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
