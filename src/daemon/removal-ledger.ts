// The Provisioner's ledger of pending node removals, kept in the store (node_removals) so a restart retries them.
import type { CloudStore } from '../topology/store.js';
import type { RemovalLedger } from './provisioning.js';

export function storeRemovalLedger(store: CloudStore): RemovalLedger {
  return {
    list: () => store.read((r) => r.listNodeRemovals()),
    failed: (node, error, nextAttemptAt) =>
      store.write((w) => {
        const r = w.getNodeRemoval(node);
        if (r) w.putNodeRemoval({ ...r, attempts: r.attempts + 1, lastError: error, nextAttemptAt: nextAttemptAt.toISOString() });
      }),
    done: (node) => void store.write((w) => w.deleteNodeRemoval(node)),
  };
}
