// Waiting for a child process (a demo started as a user would) to print a line, bounded in time.
import type { ChildProcess } from 'node:child_process';

/** Resolves once `output()` holds `text`; rejects at `timeoutMs` or when the child exits first, with what it printed. */
export function waitForOutput(child: ChildProcess, output: () => string, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not print '${text}' in ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    const check = (): void => {
      if (output().includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited ${code} before printing '${text}':\n${output()}`));
    });
    check();
  });
}
