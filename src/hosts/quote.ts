// The one place where an argument vector becomes a POSIX shell line (SSH runs commands through the remote user's
// shell). Every argument is single-quoted, so the shell sees literal data: inside '...' nothing is special except
// the closing quote, which is written as '\'' (close, escaped quote, reopen).

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

function singleQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a command argument cannot contain a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes one argument for a POSIX shell. Words of safe characters are left bare for readable logs. */
export function quoteArg(arg: string): string {
  return SAFE_WORD.test(arg) ? arg : singleQuote(arg);
}

/**
 * Joins an argument vector into a shell line that runs exactly that vector (no globbing, no expansion). The command
 * word is always quoted: a bare `A=b` would be an assignment and a bare `time` or `if` a reserved word.
 */
export function quoteArgv(argv: readonly string[]): string {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty command');
  return [singleQuote(cmd), ...args.map(quoteArg)].join(' ');
}
