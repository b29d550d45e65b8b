// What every part of the service shares: the store, the collaborators, the apply queue, the clock and the logger.
import { hasRole, isOverlayEndpoint } from '../topology/model.js';
import { toCloud } from '../topology/records.js';
import type { CloudStore } from '../topology/store.js';
import { ApplyQueue } from './apply-queue.js';
import { SILENT, type CloudServiceDeps, type Log, type OpContext } from './collaborators.js';

export class ServiceContext {
  readonly store: CloudStore;
  readonly applies: ApplyQueue;
  readonly now: () => Date;

  constructor(readonly deps: CloudServiceDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
    this.applies = new ApplyQueue(
      () => this.store.read((r) => toCloud(r.records())),
      (cloud, nodes) => deps.network.apply(cloud, nodes),
      (error, nodes) => deps.log?.error({ err: error, nodes }, 'network apply failed; the nodes stay pending'),
    );
  }

  /** The request's logger if it has one, else the service's. */
  log(ctx: OpContext): Log {
    return ctx.log ?? this.deps.log ?? SILENT;
  }

  allNodes(): string[] {
    return this.store.read((r) => r.listNodes().map((n) => n.name));
  }

  /** A VM's flows live on every overlay endpoint (ARP answers, routing) and the switch node (broadcast). */
  vmNodes(): string[] {
    return this.store.read((r) =>
      r
        .listNodes()
        .filter((n) => isOverlayEndpoint(n) || hasRole(n, 'switch'))
        .map((n) => n.name),
    );
  }
}
