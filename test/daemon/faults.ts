// An executor that injects faults into a real one, for the failures that can't be provoked on demand on a real node:
// a command that fails, one that hangs past a deadline, a node that does not answer at all.
import { ExecError, type ExecOptions, type ExecResult, type Executor } from '../../src/hosts/executor.js';

export interface Fault {
  /** Which commands it hits: the argument vector joined with spaces is matched. */
  readonly match: RegExp;
  /** How many matching commands it hits before it wears off. */
  times: number;
  /** Fail (exit 99), or run the command only after this long (a hang, bounded so no test outlives it). */
  readonly hangMs?: number;
}

export class FaultyExecutor implements Executor {
  readonly target: string;
  readonly faults: Fault[] = [];
  /** Every command, with how it went: 'ok', 'failed (injected)', 'delayed'. */
  readonly log: string[] = [];
  /** When set, every command fails as an SSH connection to a host that is down would. */
  unreachable = false;

  constructor(private readonly inner: Executor) {
    this.target = inner.target;
  }

  /** Fails (or delays) the next `times` commands matching `match`. */
  inject(match: RegExp, times = 1, hangMs?: number): void {
    this.faults.push({ match, times, ...(hangMs !== undefined && { hangMs }) });
  }

  async run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const line = argv.join(' ');
    if (this.unreachable) {
      this.log.push(`${line}: unreachable`);
      throw new Error(`[${this.target}] connect ECONNREFUSED (injected: the node is down)`);
    }
    const fault = this.faults.find((f) => f.times > 0 && f.match.test(line));
    if (fault) {
      fault.times--;
      if (fault.hangMs === undefined) {
        this.log.push(`${line}: failed (injected)`);
        throw new ExecError(this.target, argv, 99, '', 'injected failure');
      }
      this.log.push(`${line}: delayed ${fault.hangMs} ms (injected)`);
      await new Promise((r) => setTimeout(r, fault.hangMs));
    }
    const r = await this.inner.run(argv, opts);
    this.log.push(`${line}: ok`);
    return r;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
