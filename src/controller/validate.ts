// Field checks shared by the CloudService operations. Each returns the reason a value is wrong, or undefined.
import { ipv4ToNumber } from '../topology/model.js';

/** Node names: as the model allows (also used in OVS port names on the switch node, so kept short). */
export const NODE_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
/** VM names become container and host names: a DNS label. */
export const VM_NAME = /^[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
export const SUBNET_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
export const AZ_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
/** LXD image references such as 'images:debian/12', 'ubuntu:22.04' or a fingerprint. */
export const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$/;
/** '[user@]host[:port]' */
export const SSH_TARGET = /^(?:[A-Za-z0-9_.-]{1,32}@)?[A-Za-z0-9_.:[\]-]{1,253}(?::\d{1,5})?$/;

export function badName(name: string, pattern: RegExp, what: string): string | undefined {
  if (pattern.test(name)) return undefined;
  if (pattern === VM_NAME) return `'${name}' is not a valid ${what}: letters, digits and '-', starting with a letter, at most 63 characters`;
  return `'${name}' is not a valid ${what}: letters, digits, '.', '_' and '-', at most 32 characters`;
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
