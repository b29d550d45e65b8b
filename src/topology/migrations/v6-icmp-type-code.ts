import type { Migration } from './migration.js';

/**
 * ICMP rules may name a type and a code (`icmp 8`, `icmp 3/4`): two nullable columns, NULL = any. Version 6, not 5:
 * another branch adds v5; index.ts applies a lower version that is missing after a higher one ran.
 */
export const v6IcmpTypeCode: Migration = {
  version: 6,
  name: 'icmp-type-code',
  sql: `
    ALTER TABLE security_rules ADD COLUMN icmp_type INTEGER CHECK (icmp_type BETWEEN 0 AND 255);
    ALTER TABLE security_rules ADD COLUMN icmp_code INTEGER CHECK (icmp_code BETWEEN 0 AND 255);
  `,
};
