// What `minicloud demo` and `minicloud demo --ha` do alike around their labs: leftovers of an earlier run removed,
// the lab started, the sample steps run (each only while no stop was asked), then up until SIGINT/SIGTERM; in the end,
// also after a failure or a signal during start-up, everything stopped and the prefix's leftovers removed.
import { cleanupLab } from '../lab/lab.js';

export interface DemoRun {
  /** The command, for error messages ('minicloud demo'). */
  readonly name: string;
  readonly prefix: string;
  /** Printed before the lab starts. */
  readonly starting: string;
  /** Printed after the signal's name when it stops ('stopping the controller and removing the lab...'). */
  readonly stopping: string;
  start(): Promise<void>;
  /** After start, one after another, each only if no signal came meanwhile (sample cloud, web server, welcome). */
  readonly steps: readonly (() => Promise<unknown> | unknown)[];
  /** Stops what start and the steps made (safe after a partial start). */
  stop(): Promise<void>;
}

/** Runs a demo until a signal; resolves with the exit code (0 stopped by a signal, 1 failed). */
export async function runUntilSignal(d: DemoRun): Promise<number> {
  const say = (s = ''): boolean => process.stdout.write(`${s}\n`);
  const left = await cleanupLab(d.prefix);
  if (left.length) say(`removed leftovers of an earlier demo: ${left.join(' ')}`);
  say(d.starting);

  // Signals during start-up are remembered and acted on once there is something to stop.
  let stopRequested: (signal: string) => void = () => undefined;
  let pendingSignal: string | undefined;
  const onSignal = (signal: string): void => (pendingSignal ??= signal, stopRequested(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await d.start();
    for (const step of d.steps) if (pendingSignal === undefined) await step();
    const signal = await new Promise<string>((resolve) => {
      stopRequested = resolve;
      if (pendingSignal !== undefined) resolve(pendingSignal);
    });
    say(`\n${signal}: ${d.stopping}`);
    return 0;
  } catch (e) {
    process.stderr.write(`${d.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await d.stop();
    await cleanupLab(d.prefix);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    say('demo stopped; everything it made is removed.');
  }
}
