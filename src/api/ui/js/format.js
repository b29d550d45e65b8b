// Small formatting helpers shared by the views.

export function mib(n) {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} GiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} GiB`;
  return `${n} MiB`;
}

export function count(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function bytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function clock(date = new Date()) {
  return date.toLocaleTimeString([], { hour12: false });
}

export function since(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** Sort order for names: 'host-2' before 'host-10'. */
export const NATURAL = { numeric: true };

/** The role that decides where a node is drawn and how it is grouped. */
const ROLE_ORDER = ['switch', 'gateway', 'compute', 'dhcp', 'management'];
export function mainRole(node) {
  return ROLE_ORDER.find((r) => node.roles.includes(r)) ?? node.roles[0] ?? 'node';
}
export function byRoleThenName(a, b) {
  return ROLE_ORDER.indexOf(mainRole(a)) - ROLE_ORDER.indexOf(mainRole(b)) || a.name.localeCompare(b.name, undefined, NATURAL);
}

/** The subnet's colour as a class, `subnet-0` … `subnet-7`: app.css has eight per theme (--subnet-N). */
const SUBNET_COLOURS = 8;
export function subnetClass(subnets, name) {
  const i = subnets.findIndex((x) => x.name === name);
  return `subnet-${(i < 0 ? 0 : i) % SUBNET_COLOURS}`;
}

/** 'AZ-1' stays 'AZ-1'; 'east' becomes 'AZ east'. */
export function azLabel(az) {
  return /^az\b|^az[-_ ]?\d/i.test(az) ? az : `AZ ${az}`;
}
