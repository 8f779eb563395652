/**
 * What an entity tells its region (`this.context.parent.tell(new Passivate(stopMessage), this.self)`)
 * to be stopped: the region keeps every message that arrives for it from then on, sends it
 * `stopMessage` (after what its mailbox already holds), and delivers the kept messages, in order, to
 * its next incarnation once it stopped. Akka's `ShardRegion.Passivate`.
 */
import { PoisonPill } from '../actor/messages.js';

export class Passivate {
  constructor(readonly stopMessage: unknown = PoisonPill.instance) {}
}

/** Routes `message` to the entity `entityId` of a region (the region creates it on demand). */
export class EntityEnvelope<Message = unknown> {
  constructor(
    readonly entityId: string,
    readonly message: Message,
  ) {}
}

/** Asks a region how many entities it holds (answered with `EntityRegionStats`). */
export class GetRegionStats {
  static readonly instance = new GetRegionStats();
  private constructor() {}
}

export interface EntityRegionStats {
  /** Alive entities (started, not yet stopped), passivating ones included; never above maxActiveEntities. */
  readonly alive: number;
  /** Of those, the ones being stopped (their messages are kept for the next incarnation). */
  readonly passivating: number;
  /** Ids with messages waiting for a free place (maxActiveEntities reached). */
  readonly waiting: number;
}

/**
 * Asks a region to stop, for good, every entity whose id `matches` (a process handing a partition of
 * its entities to another one): each is sent the region's stop message and the region answers
 * `EntitiesStopped` once all of them terminated (their postStop ran). Messages kept or waiting for
 * those ids are answered with a `StatusFailure(EntityStoppedError)` instead of going to a next
 * incarnation: after a hand-off the next incarnation lives elsewhere.
 */
export class StopEntities {
  constructor(readonly matches: (entityId: string) => boolean) {}
}

/** The region's answer to `StopEntities`: `stopped` entities terminated, none that matched is alive. */
export class EntitiesStopped {
  constructor(readonly stopped: number) {}
}
