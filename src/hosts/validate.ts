// Input checks for everything that ends up in a command line, a file on a node or an OVSDB record. Names are kept to
// a pattern that no shell, `ip`, `ovs-vsctl` or `lxc` gives a meaning to, so even a bug in quoting could not turn them
// into code; everything else (addresses, paths) is parsed, not pattern-matched loosely. Node, VM and image names
// follow the rules of src/topology/names.ts, the same ones the API enforces.
import { ipv4ToNumber, numberToIpv4 } from '../topology/model.js';
import { IMAGE_ALIAS, INSTANCE_SEPARATOR, NODE_NAME, PROJECT_NAME, VM_INSTANCE, VM_NAME, VM_REF, matchesRule, type NameRule } from '../topology/names.js';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid ${field} ${JSON.stringify(value)}: ${reason}`);
  }
}

/** A plain token (a letter, then letters, digits and '-', at most 32, not ending in '-'). */
export const NAME_PATTERN = /^[A-Za-z](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/;
/** Network namespace names (a file under /run/netns): a letter, then letters, digits, '_' and '-', at most 64. */
export const NETNS_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Linux interface names (IFNAMSIZ - 1 = 15), no leading '-' or '.'. */
export const IFNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const MAC_PATTERN = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const IPV4_PATTERN = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;
const PATH_PATTERN = /^\/[A-Za-z0-9._/-]*$/;

function check(field: string, value: unknown, ok: boolean, reason: string): void {
  if (!ok) throw new ValidationError(field, value, reason);
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

export function assertName(field: string, value: unknown): string {
  check(field, value, isString(value) && NAME_PATTERN.test(value), 'a letter, then letters, digits or "-" (at most 32)');
  return value as string;
}

function assertRule(rule: NameRule, field: string, value: unknown): string {
  check(field, value, matchesRule(rule, value), rule.text);
  return value as string;
}

/** A node's name (topology NODE_NAME): what provisioning and the switch's port names take. */
export function assertNodeName(field: string, value: unknown): string {
  return assertRule(NODE_NAME, field, value);
}

/** The name of a VM to create (topology VM_NAME). */
export function assertVmName(field: string, value: unknown): string {
  return assertRule(VM_NAME, field, value);
}

/** The name of a VM that may exist already (topology VM_REF: it admits VMs named under the older, wider rule). */
export function assertVmRef(field: string, value: unknown): string {
  return assertRule(VM_REF, field, value);
}

/**
 * The instance name of a VM to create (names.ts vmInstanceName): a VM name (the default project's), or
 * PROJECT--NAME with a project name and a VM name, which holds no other '--'. Within VM_INSTANCE's length (LXD 63,
 * a namespace's prefix + name 64).
 */
export function assertVmInstanceName(field: string, value: unknown): string {
  return assertInstance(field, value, VM_NAME);
}

/**
 * The instance name of a VM that may exist already: one a VM made before names were per project has (VM_REF, the
 * older, wider rule), or PROJECT--NAME as above. Within VM_INSTANCE.
 */
export function assertVmInstance(field: string, value: unknown): string {
  return assertInstance(field, value, VM_REF);
}

function assertInstance(field: string, value: unknown, plain: NameRule): string {
  assertRule(VM_INSTANCE, field, value);
  const text = value as string;
  const at = text.lastIndexOf(INSTANCE_SEPARATOR);
  const qualified = at > 0 && matchesRule(PROJECT_NAME, text.slice(0, at)) && matchesRule(VM_NAME, text.slice(at + INSTANCE_SEPARATOR.length));
  check(field, value, qualified || matchesRule(plain, text), `a VM name (${plain.text}), or PROJECT${INSTANCE_SEPARATOR}NAME of a project name and a VM name`);
  return text;
}

/** A local LXD image alias (topology IMAGE_ALIAS). */
export function assertImageAlias(field: string, value: unknown): string {
  return assertRule(IMAGE_ALIAS, field, value);
}

export function assertNetnsName(field: string, value: unknown): string {
  check(field, value, isString(value) && NETNS_PATTERN.test(value), "a letter, then letters, digits, '_' or '-' (at most 64)");
  return value as string;
}

export function assertIfName(field: string, value: unknown): string {
  check(field, value, isString(value) && IFNAME_PATTERN.test(value), 'an interface name of 1-15 of [A-Za-z0-9_.-]');
  return value as string;
}

/** A unicast MAC; returned lower-case. */
export function assertMac(field: string, value: unknown): string {
  const mac = isString(value) ? value.toLowerCase() : '';
  check(field, value, MAC_PATTERN.test(mac), 'a MAC address like 02:00:00:00:00:01');
  check(field, value, (parseInt(mac.slice(0, 2), 16) & 1) === 0, 'a unicast MAC (first octet even)');
  return mac;
}

export function isIpv4(value: unknown): value is string {
  return isString(value) && IPV4_PATTERN.test(value) && value.split('.').every((o) => Number(o) <= 255);
}

export function assertIpv4(field: string, value: unknown): string {
  check(field, value, isIpv4(value), 'an IPv4 address');
  return value as string;
}

export interface ParsedCidr {
  readonly ip: string;
  readonly prefix: number;
  /** The network address (host bits cleared). */
  readonly network: string;
  /** Dotted netmask, e.g. 255.255.255.224. */
  readonly netmask: string;
}

export function parseCidr(field: string, value: unknown): ParsedCidr {
  const parts = isString(value) ? value.split('/') : [];
  const [ip, len] = parts;
  const prefix = Number(len);
  check(field, value, parts.length === 2 && isIpv4(ip) && /^\d{1,2}$/.test(len ?? '') && prefix <= 32, 'an IPv4 CIDR like 192.168.20.1/27');
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return {
    ip: ip!,
    prefix,
    network: numberToIpv4((ipv4ToNumber(ip!) & mask) >>> 0),
    netmask: numberToIpv4(mask),
  };
}

/** An interface address with its prefix length, e.g. 192.168.20.1/27 (host bits allowed). */
export function assertIfAddress(field: string, value: unknown): string {
  parseCidr(field, value);
  return value as string;
}

/** A network, e.g. 192.168.20.0/22 (host bits must be clear). */
export function assertNetwork(field: string, value: unknown): string {
  const c = parseCidr(field, value);
  check(field, value, c.ip === c.network, 'a network address (host bits clear)');
  return value as string;
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr('cidr', cidr);
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return ((ipv4ToNumber(ip) & mask) >>> 0) === ipv4ToNumber(c.network);
}

/** An absolute path of safe characters, without '..' components. */
export function assertPath(field: string, value: unknown): string {
  check(
    field,
    value,
    isString(value) && PATH_PATTERN.test(value) && !value.split('/').includes('..'),
    'an absolute path of [A-Za-z0-9._/-] without ".."',
  );
  return value as string;
}

/** An OVS controller target: tcp:IP:PORT, ssl:IP:PORT or unix:/absolute/path. */
export function assertControllerTarget(field: string, value: unknown): string {
  const s = isString(value) ? value : '';
  const inet = /^(tcp|ssl):([0-9.]+):(\d{1,5})$/.exec(s);
  const ok = inet
    ? isIpv4(inet[2]) && Number(inet[3]) > 0 && Number(inet[3]) < 65536
    : s.startsWith('unix:') && PATH_PATTERN.test(s.slice(5)) && !s.includes('..');
  check(field, value, ok, 'tcp:IP:PORT, ssl:IP:PORT or unix:/path');
  return s;
}

export function assertPositiveInt(field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  check(field, value, Number.isInteger(value) && (value as number) > 0 && (value as number) <= max, `an integer in 1..${max}`);
  return value as number;
}
