import { withEnv, type ExecOptions, type ExecResult, type Executor } from './executor.js';
import { assertNetnsName } from './validate.js';

export interface NetnsExecutorOptions {
  /** Environment for every command, e.g. { OVS_RUNDIR: '/tmp/minicloud-lab/h1' } for a lab node's own OVS. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs commands inside a named network namespace (`ip netns exec NS ...`) through another executor, so a lab node
 * (a namespace with its own OVS) is driven exactly like a real one; over SSH it reaches namespaces on a remote node.
 */
export class NetnsExecutor implements Executor {
  readonly target: string;

  constructor(
    private readonly inner: Executor,
    readonly netns: string,
    private readonly options: NetnsExecutorOptions = {},
  ) {
    assertNetnsName('network namespace', netns);
    this.target = `${inner.target === 'local' ? '' : `${inner.target}/`}netns:${netns}`;
  }

  get env(): Readonly<Record<string, string>> {
    return this.options.env ?? {};
  }

  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.inner.run(['ip', 'netns', 'exec', this.netns, ...withEnv(this.options.env, argv)], opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
