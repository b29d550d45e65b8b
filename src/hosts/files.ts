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
