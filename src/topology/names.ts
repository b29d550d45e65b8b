// The one rule per kind of name. The API schemas generate their `pattern` and `maxLength` from these, CloudService
// checks them, and src/hosts checks them again before a name reaches a command line: one definition, three guards.
//
// Each rule comes from the strictest place the name ends up:
// - a node name becomes the switch node's VXLAN port `sw-NAME`, an interface name that OpenFlow carries in a
//   16-byte field (OFP_MAX_PORT_NAME_LEN, NUL included) and Linux in IFNAMSIZ (16, NUL included): 15 characters,
//   so 12 for the name; in the lab it is also the node's network namespace.
// - a VM name becomes an LXD container name, its hostname (DHCP option 12, a dnsmasq host entry and tag), the netns
//   backend's namespace `PREFIX+NAME` (PREFIX at most 8) and file names on the node: an RFC 1123 label, lower-case
//   because DNS and dnsmasq compare names case-insensitively (`Web` and `web` must not be two VMs). Its interface on
//   br0 is named by the controller (`mcvmN`), so the name's length is not tied to IFNAMSIZ.
//   Names are unique per project: a VM of a project other than the default one is `PROJECT--NAME` on its node
//   (VM_INSTANCE, vmInstanceName), and so VM names may not contain '--'.
// - a subnet name reaches no host today; it follows the VM rule so it can become a DNS domain or dnsmasq tag later.
//
// Older versions accepted more (STORED_NAME). Records with such names stay readable and deletable: path parameters
// and references to existing records use STORED_NAME, only names of new records must pass the rule.

export interface NameRule {
  /** What the rule names, for messages: 'node name'. */
  readonly what: string;
  readonly maxLength: number;
  /** An anchored regular expression (source text): the API schema's `pattern`. */
  readonly pattern: string;
  /** The rule in words, for error messages and the API documentation. */
  readonly text: string;
}

/** An RFC 1123 label, lower-case, starting with a letter, of at most `maxLength` characters. */
function labelRule(what: string, maxLength: number): NameRule {
  return {
    what,
    maxLength,
    pattern: `^[a-z](?:[a-z0-9-]{0,${maxLength - 2}}[a-z0-9])?$`,
    text: `1-${maxLength} characters: lower-case letters, digits and '-', starting with a letter, not ending with '-'`,
  };
}

/** Linux (IFNAMSIZ - 1) and OpenFlow (OFP_MAX_PORT_NAME_LEN - 1): the longest interface / port name. */
export const MAX_INTERFACE_NAME = 15;
/** The switch node's VXLAN port to a host is `${SWITCH_PORT_PREFIX}${host}` (model.ts switchPortName). */
export const SWITCH_PORT_PREFIX = 'sw-';

export const NODE_NAME: NameRule = labelRule('node name', MAX_INTERFACE_NAME - SWITCH_PORT_PREFIX.length);
/** Never in a VM name: it joins project and name in a VM's instance name on its node (`vmInstanceName`). */
export const INSTANCE_SEPARATOR = '--';
export const VM_NAME: NameRule = {
  what: 'VM name',
  maxLength: 32,
  // labelRule's label without '--' (each '-' is followed by a letter or digit).
  pattern: '^[a-z](?:-?[a-z0-9]){0,31}$',
  text: "1-32 characters: lower-case letters, digits and '-', starting with a letter, not ending with '-', no '--'",
};
export const SUBNET_NAME: NameRule = labelRule('subnet name', 32);
/** A security group name reaches no host (flows carry its numeric id): the subnet rule, for the same reasons. */
export const SECURITY_GROUP_NAME: NameRule = labelRule('security group name', 32);
/** A project name reaches no host, but prefixes its default group's name (`NAME-default`, a SECURITY_GROUP_NAME): 20. */
export const PROJECT_NAME: NameRule = labelRule('project name', 20);

/** Availability zones only group nodes (no host sees them): the shape older versions accepted. */
export const AZ_NAME: NameRule = {
  what: 'AZ name',
  maxLength: 32,
  pattern: '^[A-Za-z0-9_.-]{1,32}$',
  text: "1-32 characters: letters, digits, '.', '_' and '-'",
};

/** A local LXD image alias as a node's `lxc` is given it. */
export const IMAGE_ALIAS: NameRule = {
  what: 'image alias',
  maxLength: 32,
  pattern: '^[A-Za-z](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$',
  text: "1-32 characters: letters, digits and '-', starting with a letter, not ending with '-'",
};

/**
 * What a VM may ask for: a local alias (IMAGE_ALIAS, used as it is), a remote reference such as 'images:debian/12'
 * or an image fingerprint (no image server is reachable: the node's configured image is used for those).
 */
export const IMAGE_REF: NameRule = {
  what: 'image reference',
  maxLength: 128,
  pattern: `^(?:${IMAGE_ALIAS.pattern.slice(1, -1)}|[A-Za-z0-9][A-Za-z0-9_.-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,94}|[0-9a-f]{12,64})$`,
  text: "a local image alias (letters, digits and '-', at most 32), a remote reference such as 'images:debian/12', or an image fingerprint",
};

/**
 * Every node, subnet or VM name an older version accepted (the widest of their rules): what path parameters and
 * references to existing records take, so a record named before the rules tightened can still be shown and removed.
 */
export const STORED_NAME: NameRule = {
  what: 'name',
  maxLength: 63,
  pattern: '^[A-Za-z0-9_.-]{1,63}$',
  text: "1-63 characters: letters, digits, '.', '_' and '-'",
};

/**
 * A VM a node may hold: what src/hosts accepted before the VM rule tightened (any case). Operations on an existing
 * VM (start, stop, exec, delete, its DHCP reservation) take this, so older VMs stay manageable; creation takes VM_NAME.
 */
export const VM_REF: NameRule = {
  what: 'VM name',
  maxLength: 32,
  pattern: '^[A-Za-z](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$',
  text: "1-32 characters: letters, digits and '-', starting with a letter, not ending with '-'",
};

/**
 * A VM's instance name on its node (LXD container, netns namespace `PREFIX+NAME`, file names): what src/hosts takes
 * for a VM. VM_REF's shape, up to `PROJECT--VM` long (54: LXD allows 63, a namespace PREFIX (8) + 54 fits 64).
 */
export const VM_INSTANCE: NameRule = {
  what: 'VM instance name',
  maxLength: PROJECT_NAME.maxLength + INSTANCE_SEPARATOR.length + VM_NAME.maxLength,
  pattern: `^[A-Za-z](?:[A-Za-z0-9-]{0,${PROJECT_NAME.maxLength + INSTANCE_SEPARATOR.length + VM_NAME.maxLength - 2}}[A-Za-z0-9])?$`,
  text: `1-${PROJECT_NAME.maxLength + INSTANCE_SEPARATOR.length + VM_NAME.maxLength} characters: letters, digits and '-', starting with a letter, not ending with '-'`,
};

/**
 * The instance name a new VM gets on its node: its name in the default project (as every VM had before names became
 * per project), `PROJECT--NAME` in any other. Unique on the node by construction: no new VM name holds '--', so no
 * default-project VM made since can be named like another project's instance, and `PROJECT--NAME` splits one way
 * only (at the last '--'). The store keeps it with the VM (older VMs keep theirs) and holds it unique across the cloud,
 * which also refuses the one collision construction cannot rule out: a default-project VM named with '--' before.
 */
export function vmInstanceName(project: string, name: string): string {
  return project === 'default' ? name : `${project}${INSTANCE_SEPARATOR}${name}`;
}

export const NAME_RULES: readonly NameRule[] = [NODE_NAME, VM_NAME, SUBNET_NAME, SECURITY_GROUP_NAME, PROJECT_NAME, AZ_NAME, IMAGE_ALIAS, IMAGE_REF, STORED_NAME, VM_REF, VM_INSTANCE];

const compiled = new Map<NameRule, RegExp>();

/** The rule's pattern as a RegExp (the same text the API schema carries). */
export function patternOf(rule: NameRule): RegExp {
  let re = compiled.get(rule);
  if (!re) compiled.set(rule, (re = new RegExp(rule.pattern)));
  return re;
}

export function matchesRule(rule: NameRule, value: unknown): value is string {
  return typeof value === 'string' && value.length <= rule.maxLength && patternOf(rule).test(value);
}

/** Why `value` is not a valid name of the rule's kind, or undefined when it is. */
export function nameProblem(rule: NameRule, value: unknown, what = rule.what): string | undefined {
  if (matchesRule(rule, value)) return undefined;
  const shown = typeof value === 'string' ? `'${value.length > 80 ? `${value.slice(0, 80)}...` : value}'` : String(value);
  return `${shown} is not a valid ${what}: ${rule.text}`;
}

/**
 * The rule in words for a schema pattern (an API validation error carries only the pattern). Rules that share a
 * pattern share its text too.
 */
export function ruleTextOf(pattern: unknown): string | undefined {
  return NAME_RULES.find((r) => r.pattern === pattern)?.text;
}
