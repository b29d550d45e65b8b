// The Provisioner's ledger of pending node removals, kept in the store (node_removals) so a restart retries them.
// Its writes are not awaited by the Provisioner: one that fails (etcd without quorum) leaves the removal as it was,
// pending, and the next attempt (the undo is idempotent) writes it again.
import type { CloudStore } from '../topology/store.js';
import type { RemovalLedger } from './provisioning.js';

export function storeRemovalLedger(store: CloudStore, onError: (e: unknown) => void = () => {}): RemovalLedger {
  return {
    list: () => store.read((r) => r.listNodeRemovals()),
    failed: (node, error, nextAttemptAt) =>
      void store
        .write((w) => {
          const r = w.getNodeRemoval(node);
          if (r) w.putNodeRemoval({ ...r, attempts: r.attempts + 1, lastError: error, nextAttemptAt: nextAttemptAt.toISOString() });
        })
        .catch(onError),
    done: (node) => void store.write((w) => w.deleteNodeRemoval(node)).catch(onError),
  };
}
