// The domain's typed errors. The API maps each kind to one HTTP status (src/api/errors.ts); their messages are
// written for the person who made the request and are always safe to show.

export type DomainErrorKind = 'not_found' | 'invalid' | 'conflict' | 'capacity_exhausted' | 'quota_exceeded' | 'forbidden' | 'backend_failed' | 'unsupported';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** The request field the error is about, when there is one ('cidr', 'flavor', ...). */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}

export class NotFound extends DomainError {
  override readonly name = 'NotFound';
  readonly kind = 'not_found';
  constructor(
    readonly resource: 'node' | 'subnet' | 'vm' | 'security group' | 'rule' | 'project' | 'floating IP',
    readonly resourceName: string,
  ) {
    super(resource === 'rule' || resource === 'floating IP' ? `no ${resource} ${resourceName}` : `no ${resource === 'vm' ? 'VM' : resource} named '${resourceName}'`);
  }
}

/** The request is malformed or refers to something that does not fit: `field` names what, the message says why. */
export class Invalid extends DomainError {
  override readonly name = 'Invalid';
  readonly kind = 'invalid';
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`, field);
  }
}

/** The request is well-formed but clashes with what exists (a duplicate name, an overlap, a VM in use...). */
export class Conflict extends DomainError {
  override readonly name = 'Conflict';
  readonly kind = 'conflict';
  constructor(field: string | undefined, reason: string) {
    super(field === undefined ? reason : `${field}: ${reason}`, field);
  }
}

/** No room: a full subnet or overlay range, no compute node with the capacity asked for. */
export class CapacityExhausted extends DomainError {
  override readonly name = 'CapacityExhausted';
  readonly kind = 'capacity_exhausted';
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`, field);
  }
}

/** The request would take its project past a quota (projects.ts): the message says which, the use and the limit. */
export class QuotaExceeded extends DomainError {
  override readonly name = 'QuotaExceeded';
  readonly kind = 'quota_exceeded';
  constructor(field: string, reason: string) {
    super(reason, field);
  }
}

/** The request is scoped to one project (its token, or the project it names) and touches another's record. */
export class Forbidden extends DomainError {
  override readonly name = 'Forbidden';
  readonly kind = 'forbidden';
}

/**
 * The VM backend (LXD, netns...) failed. What was allocated for the request is released only once the node holds
 * nothing of it; else the VM is kept in state 'error' with its addresses, and the message says so.
 */
export class BackendFailed extends DomainError {
  override readonly name = 'BackendFailed';
  readonly kind = 'backend_failed';
}

export class Unsupported extends DomainError {
  override readonly name = 'Unsupported';
  readonly kind = 'unsupported';
}

/** A thrown value's message, for a DomainError's text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
