import { spawn } from 'node:child_process';
import {
  DEFAULT_TIMEOUT_MS,
  logOutputLimit,
  logStart,
  logTimeout,
  OutputBuffer,
  outputLimit,
  settle,
  type ExecOptions,
  type ExecResult,
  type Executor,
} from './executor.js';
import { silentLogger, type Logger } from './types.js';

export interface LocalExecutorOptions {
  readonly logger?: Logger;
  readonly defaultTimeoutMs?: number;
  /** Extra environment for every command (added to this process's). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per-stream output limit unless the call gives one (default DEFAULT_MAX_OUTPUT_BYTES, 4 MiB). */
  readonly maxOutputBytes?: number;
}

/** Runs commands on this machine with spawn (no shell). */
export class LocalExecutor implements Executor {
  readonly target: string = 'local';
  private readonly logger: Logger;

  constructor(private readonly options: LocalExecutorOptions = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return Promise.reject(new Error('empty command'));
    const timeoutMs = opts.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    let limit: number;
    try {
      limit = outputLimit(opts, this.options.maxOutputBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    const startedAt = logStart(this.logger, this.target, argv);
    return new Promise((resolve, reject) => {
      // detached: the command leads its own process group, so a timeout kills what it started as well.
      const child = spawn(cmd, args, {
        env: { ...process.env, ...this.options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      const out = new OutputBuffer(limit);
      const err = new OutputBuffer(limit);
      let timedOut = false;
      let overflowed: 'stdout' | 'stderr' | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      const overflow = (stream: 'stdout' | 'stderr'): void => {
        if (overflowed) return;
        overflowed = stream;
        killGroup(child.pid);
        // Our ends go too: nothing more is read, and a process that left the group gets EPIPE instead of holding us.
        child.stdout.destroy();
        child.stderr.destroy();
      };
      child.stdout.on('data', (b: Buffer) => out.push(b) || overflow('stdout'));
      child.stderr.on('data', (b: Buffer) => err.push(b) || overflow('stderr'));
      child.stdin.on('error', () => undefined); // EPIPE when the command does not read its input
      child.on('error', (e) => {
        clearTimeout(timer);
        this.logger.warn({ target: this.target, argv, err: e.message }, 'command could not start');
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (overflowed) return reject(logOutputLimit(this.logger, this.target, argv, overflowed, limit));
        if (timedOut) return reject(logTimeout(this.logger, this.target, argv, timeoutMs));
        const result = { stdout: out.text(), stderr: err.text(), code: code ?? -1 };
        try {
          resolve(settle(this.logger, this.target, argv, opts, result, startedAt));
        } catch (e) {
          reject(e);
        }
      });
      child.stdin.end(opts.input ?? '');
    });
  }

  async close(): Promise<void> {}
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
