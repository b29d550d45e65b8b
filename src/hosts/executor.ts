// One way to run a command on a node, wherever the node is: here, in a network namespace, or over SSH.
import type { Logger } from './types.js';

export interface ExecOptions {
  /** Data for the command's standard input (closed after it). */
  readonly input?: string | Buffer;
  /** Kill the command after this long (default: the executor's). */
  readonly timeoutMs?: number;
  /** Exit codes that count as success (default [0]); any other rejects with ExecError. */
  readonly okCodes?: readonly number[];
  /**
   * Most bytes kept of each of stdout and stderr (default: the executor's). A command that prints more is killed
   * and the call rejects with ExecOutputLimitError; what it printed is never buffered past the limit.
   */
  readonly maxOutputBytes?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface Executor {
  /** Where commands run, for logs and errors: 'local', 'netns:h1', 'ssh:root@10.0.0.5:22'. */
  readonly target: string;
  /**
   * Runs an argument vector (never a shell line). Rejects with ExecError, ExecTimeoutError, ExecOutputLimitError or
   * a connection error.
   */
  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Releases connections (SSH); a no-op elsewhere. */
  close(): Promise<void>;
}

/** The command ran and exited with a code outside okCodes (or was killed by a signal: code -1). */
export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(
    readonly target: string,
    readonly argv: readonly string[],
    readonly code: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`[${target}] ${argv.join(' ')} exited ${code}: ${(stderr.trim() || stdout.trim()).slice(0, 2000)}`);
  }
}

export class ExecTimeoutError extends Error {
  override readonly name = 'ExecTimeoutError';
  constructor(
    readonly target: string,
    readonly argv: readonly string[],
    readonly timeoutMs: number,
  ) {
    super(`[${target}] ${argv.join(' ')} timed out after ${timeoutMs} ms`);
  }
}

/** The command printed more than the limit on one stream: it was killed (its process group; over SSH, see there). */
export class ExecOutputLimitError extends Error {
  override readonly name = 'ExecOutputLimitError';
  constructor(
    readonly target: string,
    readonly argv: readonly string[],
    readonly stream: 'stdout' | 'stderr',
    readonly limitBytes: number,
  ) {
    super(`[${target}] ${argv.join(' ').slice(0, 500)} printed more than ${formatBytes(limitBytes)} on ${stream}, the output limit: the command was killed`);
  }
}

export const DEFAULT_TIMEOUT_MS = 60_000;
/** Per stream: far above what any command of ours prints, far below what would hurt the controller. */
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** 4194304 -> '4 MiB (4194304 bytes)'. */
function formatBytes(n: number): string {
  const mib = n / (1024 * 1024);
  const kib = n / 1024;
  const short = Number.isInteger(mib) ? `${mib} MiB` : Number.isInteger(kib) ? `${kib} KiB` : undefined;
  return short ? `${short} (${n} bytes)` : `${n} bytes`;
}

/** One output stream of a command, kept up to `limit` bytes: `push` says false once the command printed more. */
export class OutputBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private over = false;

  constructor(readonly limit: number) {}

  /** Keeps the chunk if it fits; false (and nothing more is kept) once the total passed the limit. */
  push(chunk: Buffer): boolean {
    if (this.over) return false;
    if (this.size + chunk.length > this.limit) {
      this.over = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/** The limit for one call: the call's own, else the executor's, else the default. Throws on a nonsensical one. */
export function outputLimit(opts: ExecOptions, executorDefault: number | undefined): number {
  const limit = opts.maxOutputBytes ?? executorDefault ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`maxOutputBytes must be a positive integer, not ${limit}`);
  return limit;
}

export function logOutputLimit(logger: Logger, target: string, argv: readonly string[], stream: 'stdout' | 'stderr', limitBytes: number): ExecOutputLimitError {
  logger.error({ target, argv, stream, limitBytes }, 'command output over the limit; killed');
  return new ExecOutputLimitError(target, argv, stream, limitBytes);
}

/** Turns a finished command into a result or an ExecError, and logs the outcome (shared by every executor). */
export function settle(
  logger: Logger,
  target: string,
  argv: readonly string[],
  opts: ExecOptions,
  result: ExecResult,
  startedAt: number,
): ExecResult {
  const ok = (opts.okCodes ?? [0]).includes(result.code);
  const fields = { target, argv, code: result.code, ms: Date.now() - startedAt };
  if (ok) {
    logger.debug(fields, 'command done');
    return result;
  }
  logger.warn({ ...fields, stderr: result.stderr.slice(0, 2000) }, 'command failed');
  throw new ExecError(target, argv, result.code, result.stdout, result.stderr);
}

export function logStart(logger: Logger, target: string, argv: readonly string[]): number {
  logger.debug({ target, argv }, 'command start');
  return Date.now();
}

export function logTimeout(logger: Logger, target: string, argv: readonly string[], timeoutMs: number): ExecTimeoutError {
  logger.error({ target, argv, timeoutMs }, 'command timed out');
  return new ExecTimeoutError(target, argv, timeoutMs);
}

/** Prefixes `env K=V ...` so environment variables reach the command through any executor (SSH included). */
export function withEnv(env: Readonly<Record<string, string>> | undefined, argv: readonly string[]): string[] {
  const pairs = Object.entries(env ?? {});
  if (pairs.length === 0) return [...argv];
  for (const [k] of pairs) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name '${k}'`);
  return ['env', ...pairs.map(([k, v]) => `${k}=${v}`), ...argv];
}
