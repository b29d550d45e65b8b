// One way to run a command on a node, wherever the node is: here, in a network namespace, or over SSH.
import type { Logger } from './types.js';

export interface ExecOptions {
  /** Data for the command's standard input (closed after it). */
  readonly input?: string | Buffer;
  /** Kill the command after this long (default: the executor's). */
  readonly timeoutMs?: number;
  /** Exit codes that count as success (default [0]); any other rejects with ExecError. */
  readonly okCodes?: readonly number[];
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface Executor {
  /** Where commands run, for logs and errors: 'local', 'netns:h1', 'ssh:root@10.0.0.5:22'. */
  readonly target: string;
  /** Runs an argument vector (never a shell line). Rejects with ExecError, ExecTimeoutError or a connection error. */
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

export const DEFAULT_TIMEOUT_MS = 60_000;

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
