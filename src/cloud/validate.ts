// Field checks shared by the CloudService operations. Each returns the reason a value is wrong, or undefined.
// Names follow the rules of src/topology/names.ts, the same ones the API schemas and src/hosts enforce.
import { ipv4ToNumber } from '../topology/model.js';
import * as rules from '../topology/names.js';

/** The longest description a security group or a project may have. */
export const MAX_DESCRIPTION = 255;

export const NODE_NAME = rules.patternOf(rules.NODE_NAME);
export const VM_NAME = rules.patternOf(rules.VM_NAME);
export const SUBNET_NAME = rules.patternOf(rules.SUBNET_NAME);
export const AZ_NAME = rules.patternOf(rules.AZ_NAME);
export const IMAGE_REF = rules.patternOf(rules.IMAGE_REF);
/** '[user@]host[:port]' */
export const SSH_TARGET = /^(?:[A-Za-z0-9_.-]{1,32}@)?[A-Za-z0-9_.:[\]-]{1,253}(?::\d{1,5})?$/;

const RULE_OF = new Map<RegExp, rules.NameRule>(rules.NAME_RULES.map((r) => [rules.patternOf(r), r]));

/** Why `name` is not a valid `what` (one of the patterns above): the message says the rule. */
export function badName(name: string, pattern: RegExp, what: string): string | undefined {
  const rule = RULE_OF.get(pattern);
  if (rule) return rules.nameProblem(rule, name, what);
  return pattern.test(name) ? undefined : `'${name}' is not a valid ${what}`;
}

export function badIpv4(ip: string): string | undefined {
  try {
    const n = ipv4ToNumber(ip);
    if (n === 0 || n === 0xffffffff) return `'${ip}' cannot be used as an address`;
    return undefined;
  } catch {
    return `'${ip}' is not an IPv4 address`;
  }
}
