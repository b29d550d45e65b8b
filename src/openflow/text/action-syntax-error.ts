// The error of every action text parser.

/** A syntax error in action text; `token` is the offending action or argument as written. */
export class ActionSyntaxError extends Error {
  override readonly name = 'ActionSyntaxError';
  constructor(
    message: string,
    readonly token: string,
  ) {
    super(message);
  }
}
