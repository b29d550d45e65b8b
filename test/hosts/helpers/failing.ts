// Executors wrapping another one for tests: one that injects a failure, one that records the commands.
import { ExecError, type ExecOptions, type ExecResult, type Executor } from '../../../src/hosts/executor.js';

/** Wraps an executor and fails the first command matching `when` (an injected fault for rollback tests). */
export class FailingExecutor implements Executor {
  readonly target: string;
  failed = false;

  constructor(
    private readonly inner: Executor,
    private readonly when: (argv: readonly string[]) => boolean,
  ) {
    this.target = inner.target;
  }

  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    if (!this.failed && this.when(argv)) {
      this.failed = true;
      return Promise.reject(new ExecError(this.target, argv, 99, '', 'injected failure'));
    }
    return this.inner.run(argv, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Wraps an executor and records every command it runs, as `argv.join(' ')`, in `calls`. */
export class RecordingExecutor implements Executor {
  readonly target: string;
  readonly calls: string[] = [];

  constructor(private readonly inner: Executor) {
    this.target = inner.target;
  }

  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    this.calls.push(argv.join(' '));
    return this.inner.run(argv, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
