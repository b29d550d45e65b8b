// Files on a node, through its executor (so the same code works locally, in a namespace and over SSH).
import { randomBytes } from 'node:crypto';
import type { Executor } from './executor.js';
import { assertPath } from './validate.js';

/** The file's content, or undefined when it does not exist. */
export async function readNodeFile(exec: Executor, path: string): Promise<string | undefined> {
  assertPath('file path', path);
  const r = await exec.run(['cat', '--', path], { okCodes: [0, 1] });
  return r.code === 0 ? r.stdout : undefined;
}

/**
 * Writes a file when its content differs (atomically: a temporary file renamed over it, so a daemon reloading at
 * the same moment never reads half of it). Returns whether it changed.
 */
export async function writeNodeFile(exec: Executor, path: string, content: string, mode = '0644'): Promise<boolean> {
  if ((await readNodeFile(exec, path)) === content) return false;
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  // A temporary name of its own: two writers of one file at once (VMs created in parallel on a node) must not rename
  // each other's half-written file away.
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await exec.run(['mkdir', '-p', '--', dir]);
  try {
    await exec.run(['tee', '--', tmp], { input: content });
    await exec.run(['chmod', mode, '--', tmp]);
    await exec.run(['mv', '-f', '--', tmp, path]);
  } catch (e) {
    await exec.run(['rm', '-f', '--', tmp], { okCodes: [0, 1] }).catch(() => undefined);
    throw e;
  }
  return true;
}

/** Removes files (missing ones are fine). */
export async function removeNodeFiles(exec: Executor, ...paths: string[]): Promise<void> {
  for (const p of paths) assertPath('file path', p);
  if (paths.length) await exec.run(['rm', '-f', '--', ...paths]);
}

export interface NodeFile {
  readonly path: string;
  readonly content: string;
  /** Default 0644. */
  readonly mode?: string;
}

/** What one writeNodeFiles call passes as arguments (well under Linux's 128 KiB per argument and 2 MiB in all). */
const MAX_INLINE_BYTES = 64 * 1024;
const MODE = /^0?[0-7]{3}$/;

// One shell for many files: each is written to a temporary name of its own, given its mode and renamed over the
// target; the first failure removes that temporary file and stops. Paths and contents are positional arguments,
// never parsed by the shell.
const WRITE_FILES = 'while [ "$#" -ge 5 ]; do mkdir -p -- "$1" && printf %s "$5" > "$2" && chmod "$3" -- "$2" && mv -f -- "$2" "$4" || { rm -f -- "$2"; exit 1; }; shift 5; done';

/**
 * Writes several files atomically each (as writeNodeFile, without comparing first) in one command: what a VM create
 * writes, at the cost of one process on the controller's side rather than five per file.
 */
export async function writeNodeFiles(exec: Executor, files: readonly NodeFile[]): Promise<void> {
  let bytes = 0;
  const args: string[] = [];
  for (const f of files) {
    assertPath('file path', f.path);
    const mode = f.mode ?? '0644';
    if (!MODE.test(mode)) throw new Error(`file mode ${JSON.stringify(mode)}: expected octal like 0644`);
    if (f.content.includes('\0')) throw new Error(`${f.path}: a file written this way cannot hold a NUL byte`);
    bytes += Buffer.byteLength(f.content);
    args.push(f.path.slice(0, f.path.lastIndexOf('/')) || '/', `${f.path}.tmp-${randomBytes(6).toString('hex')}`, mode, f.path, f.content);
  }
  if (files.length === 0) return;
  if (bytes > MAX_INLINE_BYTES) {
    for (const f of files) await writeNodeFile(exec, f.path, f.content, f.mode);
    return;
  }
  await exec.run(['sh', '-c', WRITE_FILES, 'sh', ...args]);
}
