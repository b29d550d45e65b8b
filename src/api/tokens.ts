// API tokens: several, named, each an admin or a viewer, kept in the store only as a hash.
//
// A token is `mc_<id>_<secret>`: 8 random bytes of id (hex) and 24 of secret (base64url, 192 bits). The id finds the
// row without a scan; the stored SHA-256 of the whole text is compared in constant time. SHA-256 and not a slow KDF
// (scrypt, argon2) on purpose: those protect guessable passwords, and a 192-bit random secret cannot be guessed
// whatever the hash's speed, while a KDF would cost every request milliseconds of CPU.
//
// The v1 store's single token (`mc_` + 32 characters, no id) keeps working: migration v2 stored its hash under the
// id 'legacy'.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DomainError, type DomainErrorKind } from '../cloud/index.js';
import type { ApiTokenRecord, ApiTokenRole, TokenStore } from '../topology/store.js';
import type { Principal, Verifier } from './auth.js';

export const TOKEN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';
const TOKEN_NAME = new RegExp(TOKEN_NAME_PATTERN);
/** At most this many tokens: every input gets a bound. */
export const MAX_TOKENS = 256;
/** A token's last-used time is written at most once per this interval (not on every request). */
export const LAST_USED_INTERVAL_MS = 60_000;
/** The name the first admin token gets (and the v1 token got). */
export const INITIAL_TOKEN_NAME = 'initial';

const TOKEN_TEXT = /^mc_([0-9a-f]{16})_[A-Za-z0-9_-]{32}$/;
const LEGACY_TEXT = /^mc_[A-Za-z0-9_-]{32}$/;
const LEGACY_ID = 'legacy';
/** Longer than any token we make: not worth hashing. */
const MAX_TOKEN_TEXT = 128;

/** What the API and CLI show of a token: never its secret or hash. */
export interface TokenInfo {
  readonly name: string;
  readonly role: ApiTokenRole;
  /** The one project a scoped token sees and touches. */
  readonly project?: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
}

class TokenError extends DomainError {
  override readonly name = 'TokenError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    field?: string,
  ) {
    super(message, field);
  }
}

export function hashToken(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The bearer token of an Authorization header, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

const info = (r: ApiTokenRecord): TokenInfo => ({
  name: r.name,
  role: r.role,
  ...(r.project !== undefined && { project: r.project }),
  createdAt: r.createdAt,
  ...(r.lastUsedAt !== undefined && { lastUsedAt: r.lastUsedAt }),
});

export interface ApiTokensOptions {
  readonly now?: () => Date;
  readonly lastUsedIntervalMs?: number;
}

export class ApiTokens {
  private readonly now: () => Date;
  private readonly interval: number;
  /** id -> when its last-used time was last written (ms). */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    options: ApiTokensOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.interval = options.lastUsedIntervalMs ?? LAST_USED_INTERVAL_MS;
  }

  /** A new token: the secret text is returned here and never again. */
  async create(name: string, role: ApiTokenRole, project?: string): Promise<{ token: string; info: TokenInfo }> {
    if (!TOKEN_NAME.test(name)) throw new TokenError('invalid', 'name: must be 1-63 letters, digits, . _ - (starting with a letter or digit)', 'name');
    if (role === 'admin' && project !== undefined) throw new TokenError('invalid', 'project: an admin token acts on the whole cloud: give a member or viewer token a project', 'project');
    if (role === 'member' && project === undefined) throw new TokenError('invalid', 'project: a member token is scoped to one project: name it', 'project');
    return await this.store.writeTokens((w) => {
      const all = w.listApiTokens();
      if (all.some((t) => t.name === name)) throw new TokenError('conflict', `name: a token named '${name}' exists (revoke it first)`, 'name');
      if (all.length >= MAX_TOKENS) throw new TokenError('capacity_exhausted', `there are ${MAX_TOKENS} tokens already: revoke unused ones first`);
      let id: string;
      do id = randomBytes(8).toString('hex');
      while (w.getApiToken(id) !== undefined);
      const token = `mc_${id}_${randomBytes(24).toString('base64url')}`;
      const record: ApiTokenRecord = { id, name, role, ...(project !== undefined && { project }), hash: hashToken(token), createdAt: this.now().toISOString() };
      w.insertApiToken(record);
      return { token, info: info(record) };
    });
  }

  list(): TokenInfo[] {
    return this.store.readTokens((r) => r.listApiTokens().map(info));
  }

  /** Names of the tokens scoped to `project` (a project is deleted only once they are revoked). */
  scopedTo(project: string): string[] {
    return this.store.readTokens((r) => r.listApiTokens().filter((t) => t.project === project).map((t) => t.name));
  }

  /**
   * Revokes the token named `name`, effective for the next request. The last admin token cannot be revoked: nobody
   * could make tokens any more (but the controller's host, by restarting it: see `ensureAdmin`).
   */
  async revoke(name: string): Promise<TokenInfo> {
    return await this.store.writeTokens((w) => {
      const all = w.listApiTokens();
      const victim = all.find((t) => t.name === name);
      if (!victim) throw new TokenError('not_found', `no token named '${name}'`);
      if (victim.role === 'admin' && all.filter((t) => t.role === 'admin').length === 1) {
        throw new TokenError('conflict', `'${name}' is the last admin token: create another admin token before revoking it`);
      }
      w.deleteApiToken(name);
      this.touched.delete(victim.id);
      return info(victim);
    });
  }

  /**
   * At start: when the store holds no admin token (a new store, or one whose admins were all lost), makes one and
   * returns its text for the operator; otherwise `created: false`.
   */
  async ensureAdmin(): Promise<{ token?: string; created: boolean }> {
    const admins = this.store.readTokens((r) => r.listApiTokens().filter((t) => t.role === 'admin'));
    if (admins.length > 0) return { created: false };
    const taken = new Set(this.list().map((t) => t.name));
    let name = INITIAL_TOKEN_NAME;
    for (let i = 2; taken.has(name); i++) name = `${INITIAL_TOKEN_NAME}-${i}`;
    return { token: (await this.create(name, 'admin')).token, created: true };
  }

  /** The principal of a token's text, or undefined. Notes its use (throttled). */
  check(text: string): Principal | undefined {
    if (text.length > MAX_TOKEN_TEXT) return undefined;
    const id = TOKEN_TEXT.exec(text)?.[1] ?? (LEGACY_TEXT.test(text) ? LEGACY_ID : undefined);
    if (id === undefined) return undefined;
    const record = this.store.readTokens((r) => r.getApiToken(id));
    if (!record) return undefined;
    const given = Buffer.from(hashToken(text), 'hex');
    const want = Buffer.from(record.hash, 'hex');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
    this.noteUse(record);
    return { name: record.name, role: record.role, ...(record.project !== undefined && { project: record.project }) };
  }

  /** As an Authorization header verifier for the API. */
  readonly verify: Verifier = (header) => {
    const text = bearer(header);
    return text === undefined ? undefined : this.check(text);
  };

  private noteUse(record: ApiTokenRecord): void {
    const now = this.now();
    const last = this.touched.get(record.id) ?? (record.lastUsedAt !== undefined ? Date.parse(record.lastUsedAt) : -Infinity);
    if (now.getTime() - last < this.interval) return;
    this.touched.set(record.id, now.getTime());
    // Best effort, not awaited: a request is not held up (or refused) because its last-used time could not be saved.
    this.store.writeTokens((w) => w.setApiTokenLastUsed(record.id, now.toISOString())).catch(() => this.touched.delete(record.id));
  }
}
