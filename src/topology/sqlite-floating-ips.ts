// The floating IPs' table of the SQLite store (migration v8; v9 makes its VM one of its own project), kept apart from sqlite-store.ts: its reader and writer
// methods, prepared on first use (a store opened with older migrations, in tests of upgrades, has none: no rows).
import type Database from 'better-sqlite3';
import { byAddress, type FloatingIpRecord } from './floating-ips.js';
import { projectOf } from './projects.js';
import type { FloatingIpFilter, StoreReader, StoreWriter } from './store.js';

interface FloatingIpRow {
  address: string;
  gateway: string;
  project: string;
  vm: string | null;
  created_at: string;
}

const fromRow = (r: FloatingIpRow): FloatingIpRecord => ({
  address: r.address,
  gateway: r.gateway,
  project: r.project,
  ...(r.vm !== null && { vm: r.vm }),
  createdAt: r.created_at,
});

export function sqliteFloatingIps(db: Database.Database): Pick<StoreReader, 'listFloatingIps' | 'getFloatingIp'> & Pick<StoreWriter, 'insertFloatingIp' | 'setFloatingIpVm' | 'deleteFloatingIp'> {
  const lazy = (sql: string): (() => Database.Statement) => {
    let statement: Database.Statement | undefined;
    return () => (statement ??= db.prepare(sql));
  };
  let table: boolean | undefined;
  const hasTable = (): boolean => (table ??= (db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'floating_ips'").get() as { n: number }).n > 0);
  const q = {
    all: lazy('SELECT * FROM floating_ips'),
    one: lazy('SELECT * FROM floating_ips WHERE address = ?'),
    insert: lazy('INSERT INTO floating_ips (address, gateway, project, vm, created_at) VALUES (?, ?, ?, ?, ?)'),
    setVm: lazy('UPDATE floating_ips SET vm = ? WHERE address = ?'),
    delete: lazy('DELETE FROM floating_ips WHERE address = ?'),
  };
  return {
    listFloatingIps: (filter: FloatingIpFilter = {}) => {
      if (!hasTable()) return [];
      return (q.all().all() as FloatingIpRow[])
        .map(fromRow)
        .filter((f) => (filter.gateway === undefined || f.gateway === filter.gateway) && (filter.project === undefined || f.project === filter.project) && (filter.vm === undefined || (f.vm === filter.vm.name && f.project === projectOf(filter.vm))))
        .sort(byAddress);
    },
    getFloatingIp: (address) => {
      if (!hasTable()) return undefined;
      const r = q.one().get(address) as FloatingIpRow | undefined;
      return r && fromRow(r);
    },
    insertFloatingIp: (f) => {
      q.insert().run(f.address, f.gateway, f.project ?? 'default', f.vm ?? null, f.createdAt);
    },
    setFloatingIpVm: (address, vm) => q.setVm().run(vm ?? null, address).changes > 0,
    deleteFloatingIp: (address) => q.delete().run(address).changes > 0,
  };
}
