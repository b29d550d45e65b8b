// OpenFlow controller roles (OpenFlow 1.3 §6.3.7) for several controllers on one switch: which role this controller
// claims (master with a generation id, or slave), sending that claim to every datapath before anything is written to
// it, and the write guard the sync path asks.
//
// A switch keeps the highest generation id it was given (compared as a wrapping signed 64-bit difference, as OVS
// does) and answers a MASTER or SLAVE request with a lower one with OFPRRFC_STALE; granting MASTER to one controller
// makes every other master a slave. So a deposed leader that still believes it leads is fenced by the switch itself:
// its next role request is stale, and its flow mods get OFPBRC_IS_SLAVE.
import { EventEmitter } from 'node:events';
import { OFPBRC, OFPCR_ROLE, OFPET, OFPRRFC } from '../openflow/index.js';
import type { Datapath } from './datapaths.js';
import { SwitchError } from './errors.js';

export type RoleName = 'master' | 'slave';

export interface RoleClaim {
  readonly role: RoleName;
  /** The generation id sent with the request (the leader's, from the election). */
  readonly generationId: bigint;
}

/** The switch refused our generation id as older than one it was given (OFPRRFC_STALE): someone newer leads. */
export class StaleGenerationError extends Error {
  override readonly name = 'StaleGenerationError';
  constructor(
    readonly datapathId: string,
    readonly generationId: bigint,
  ) {
    super(`switch ${datapathId} refused generation ${generationId} as stale: a controller with a newer generation is master`);
  }
}

/** The write guard: this controller is not the switch's master, so it sends no FLOW_MOD (nor group or meter mod). */
export class NotMasterError extends Error {
  override readonly name = 'NotMasterError';
  constructor(readonly datapathId: string) {
    super(`not master of ${datapathId}: a follower never writes to a switch`);
  }
}

/** Whether a switch error says we are not (or no longer) master: a flow mod refused with OFPBRC_IS_SLAVE. */
export function isSlaveRefusal(e: unknown): boolean {
  return e instanceof SwitchError && e.errType === OFPET.BAD_REQUEST && e.code === OFPBRC.IS_SLAVE;
}

export interface RoleKeeperEvents {
  /** A switch refused our generation as stale (we should step down). */
  stale: [Datapath, StaleGenerationError];
  /** A switch granted the role we claim. */
  granted: [Datapath, RoleName];
}

/**
 * Holds this controller's claim and what each datapath granted. `mayWrite(dp)` is true only when we claim master and
 * `dp` granted that very claim (same generation): a claim changed since (a step-down) or never confirmed is no
 * licence to write.
 */
export class RoleKeeper extends EventEmitter<RoleKeeperEvents> {
  private claim: RoleClaim;
  private readonly granted = new WeakMap<Datapath, RoleClaim>();
  /** Per datapath: the request in flight for the current claim, so connect and a claim change share one. */
  private readonly inFlight = new WeakMap<Datapath, { claim: RoleClaim; done: Promise<boolean> }>();
  /** Syncs refused by the write guard (a follower asked to write): the count the metrics and tests read. */
  refusedWrites = 0;

  constructor(initial: RoleClaim = { role: 'slave', generationId: 0n }) {
    super();
    this.claim = initial;
  }

  get current(): RoleClaim {
    return this.claim;
  }

  /** The role `dp` granted us for the current claim, if it did. */
  roleOf(dp: Datapath): RoleName | undefined {
    const g = this.granted.get(dp);
    return g === this.claim ? g.role : undefined;
  }

  /** Claims `claim` from now on and sends it to every datapath in `dps`; resolves when each has answered. */
  async set(claim: RoleClaim, dps: readonly Datapath[]): Promise<void> {
    this.claim = claim;
    await Promise.all(dps.map((dp) => this.assert(dp).catch(() => false)));
  }

  /**
   * Makes sure `dp` has the current claim (sends ROLE_REQUEST unless it granted it already); resolves with whether we
   * may write to it. Rejects with StaleGenerationError (also emitted) or the switch's error.
   */
  assert(dp: Datapath): Promise<boolean> {
    const claim = this.claim;
    if (this.granted.get(dp) === claim) return Promise.resolve(this.mayWrite(dp));
    const pending = this.inFlight.get(dp);
    if (pending?.claim === claim) return pending.done;
    const done = this.request(dp, claim).finally(() => {
      if (this.inFlight.get(dp)?.done === done) this.inFlight.delete(dp);
    });
    this.inFlight.set(dp, { claim, done });
    return done;
  }

  /** The hard guard of the sync path: only a master whose claim the switch granted writes. */
  mayWrite(dp: Datapath): boolean {
    return this.claim.role === 'master' && this.granted.get(dp) === this.claim;
  }

  /** Counts a refused write and returns the error to throw. */
  refuse(dp: Datapath): NotMasterError {
    this.refusedWrites++;
    return new NotMasterError(dp.id);
  }

  private async request(dp: Datapath, claim: RoleClaim): Promise<boolean> {
    const wire = claim.role === 'master' ? OFPCR_ROLE.MASTER : OFPCR_ROLE.SLAVE;
    try {
      await dp.connection.requestRole(wire, claim.generationId);
    } catch (e) {
      if (e instanceof SwitchError && e.errType === OFPET.ROLE_REQUEST_FAILED && e.code === OFPRRFC.STALE) {
        const err = new StaleGenerationError(dp.id, claim.generationId);
        if (claim === this.claim) this.emit('stale', dp, err);
        throw err;
      }
      throw e;
    }
    // A newer claim made meanwhile sends its own request; this answer is not a licence for it.
    if (claim !== this.claim) return false;
    this.granted.set(dp, claim);
    this.emit('granted', dp, claim.role);
    return this.mayWrite(dp);
  }
}
