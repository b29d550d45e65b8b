// The cookie scheme: which flows are ours, and what produced each one.
//
//   63            48 47  44 43  40 39      32 31                              0
//  +----------------+------+------+----------+---------------------------------+
//  | 0x4d43 ("MC")  | owner| stage| reserved |  owner id                       |
//  +----------------+------+------+----------+---------------------------------+
//
//  owner:    1 node (id = the node's tunnel IPv4), 2 subnet (id = VNI), 3 VM (id = the VM's IPv4),
//            4 security-group rule: bits 39..24 the group's id, 23..0 the rule's id (both unique, never reused)
//  stage:    which stage built it (STAGE below)
//
// The runtime selects all of our flows with (cookie = OURS, mask = OURS_MASK), e.g. to delete what it did not
// compute, and leaves anybody else's flows alone; (cookieFor(owner, id), OWNER_MASK) selects one VM's flows on a
// node whatever stage built them.

export const COOKIE_PREFIX = 0x4d43n;
export const OURS = COOKIE_PREFIX << 48n;
export const OURS_MASK = 0xffffn << 48n;
/** Selects one owner (kind + id), any stage. */
export const OWNER_MASK = OURS_MASK | (0xfn << 44n) | 0xffffffffn;

export const OWNER = { node: 1, subnet: 2, vm: 3, rule: 4 } as const;
export type OwnerKind = keyof typeof OWNER;

export const STAGE = { endpoint: 1, compute: 2, gateway: 3, dhcp: 4, switch: 5, management: 6, sg: 7 } as const;
export type StageName = keyof typeof STAGE;

export function cookieFor(owner: OwnerKind, id: number, stage?: StageName): bigint {
  const s = stage === undefined ? 0n : BigInt(STAGE[stage]);
  return OURS | (BigInt(OWNER[owner]) << 44n) | (s << 40n) | BigInt(id >>> 0);
}

/** The cookie of the flows a security-group rule makes: names the group and the rule. */
export function cookieForRule(groupId: number, ruleId: number): bigint {
  return OURS | (BigInt(OWNER.rule) << 44n) | (BigInt(STAGE.sg) << 40n) | (BigInt(groupId & 0xffff) << 24n) | BigInt(ruleId & 0xffffff);
}

export function isOurs(cookie: bigint): boolean {
  return (cookie & OURS_MASK) === OURS;
}

export interface CookieInfo {
  readonly owner: OwnerKind;
  readonly stage: StageName;
  /** The owner's id; for a rule, the rule's id. */
  readonly id: number;
  /** Rules only: the id of the rule's group. */
  readonly group?: number;
}

/** Decodes one of our cookies; undefined for anybody else's. */
export function describeCookie(cookie: bigint): CookieInfo | undefined {
  if (!isOurs(cookie)) return undefined;
  const owner = (Object.keys(OWNER) as OwnerKind[]).find((k) => BigInt(OWNER[k]) === ((cookie >> 44n) & 0xfn));
  const stage = (Object.keys(STAGE) as StageName[]).find((k) => BigInt(STAGE[k]) === ((cookie >> 40n) & 0xfn));
  if (!owner || !stage) return undefined;
  if (owner === 'rule') return { owner, stage, id: Number(cookie & 0xffffffn), group: Number((cookie >> 24n) & 0xffffn) };
  return { owner, stage, id: Number(cookie & 0xffffffffn) };
}
