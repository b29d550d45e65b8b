// quoteArgv: the one function that turns an argument vector into a shell line (used for SSH). Checked against the
// real shells a node may have as a login shell (dash as sh, bash), with a table of nasty strings and random ones.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteArg, quoteArgv } from '../../src/hosts/quote.js';
import { NASTY_STRINGS } from './helpers/nasty.js';

/** What `SHELL -c LINE` hands to printf: the arguments, split back at NULs. */
function throughShell(shell: string, args: readonly string[]): string[] {
  const r = spawnSync(shell, ['-c', quoteArgv(['printf', '%s\\0', ...args])], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

const arg = fc.string({ unit: 'binary', maxLength: 16 }).filter((s) => !s.includes('\0'));

describe('quoteArgv', () => {
  it('leaves plain words bare and single-quotes the rest', () => {
    expect(quoteArgv(['ovs-vsctl', '--may-exist', 'add-br', 'br0'])).toBe(`'ovs-vsctl' --may-exist add-br br0`);
    expect(quoteArg('options:remote_ip=flow')).toBe('options:remote_ip=flow');
    expect(quoteArg('a b')).toBe(`'a b'`);
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('')).toBe(`''`);
    expect(quoteArg('$(id)')).toBe(`'$(id)'`);
  });

  it('always quotes the command word (no assignments, no reserved words)', () => {
    expect(quoteArgv(['A=b'])).toBe(`'A=b'`);
    expect(quoteArgv(['time', 'x'])).toBe(`'time' x`);
    const r = spawnSync('sh', ['-c', quoteArgv(['A=b', 'true'])], { encoding: 'utf8' });
    expect(r.status).toBe(127); // "A=b: not found": it was a command name, not an assignment
  });

  it('rejects what no argv can carry', () => {
    expect(() => quoteArgv([])).toThrow(/empty/);
    expect(() => quoteArgv(['echo', 'a\0b'])).toThrow(/NUL/);
    expect(() => quoteArgv(['a\0b'])).toThrow(/NUL/);
  });

  for (const shell of ['sh', 'bash']) {
    it(`round-trips the nasty table and random strings through ${shell} -c`, () => {
      expect(throughShell(shell, NASTY_STRINGS)).toEqual(NASTY_STRINGS);
      fc.assert(
        fc.property(fc.array(arg, { minLength: 1, maxLength: 8 }), (args) => {
          expect(throughShell(shell, args)).toEqual(args);
        }),
        { numRuns: 150 },
      );
    });
  }
});
