/**
 * Which partitions of an `amqpEntities` type this process serves, decided through leases of the
 * system's journal (PostgreSQL: session advisory locks) — no gossip, no failure detector of our own:
 * a process that dies loses its database session and with it every lease, at once.
 *
 * - Membership: each serving process holds one of `maxMembers` slot leases (the lowest free one).
 *   Counting live members is asking, slot by slot, whether a slot lease is held (a try-lock that
 *   succeeds is released at once). The rank of a member is the number of live slots below its own.
 * - Shares: with n members, rank r holds floor(P/n) partitions, one more when r < P mod n (±1).
 * - Each tick (every `intervalMs`) a member over its share gives partitions up (the highest first) and
 *   one under it takes free ones (starting at a point that depends on its rank, so that joiners do not
 *   all race for partition 0). Partitions only move when a share changes, never to "tidy up".
 * - Giving up is `give(p)` — the caller stops consuming and stops the partition's entities — and only
 *   then the lease's release; taking is the lease first, then `take(p)`. A lost lease (the database
 *   connection broke) gives the partition up at once.
 *
 * Members may briefly disagree on n (each counts on its own tick): a joiner then finds nothing free
 * and waits until the others counted it and released their extras. Two owners of one partition never
 * exist, because a partition is served only under its lease; what a lease cannot fence (a write
 * already on its way when the lease was lost) the journal's sequence-number check refuses.
 */
import type { Logger } from 'pino';
import type { Lease } from '../../src/persistence/journal.js';
import { memberLeaseName, partitionLeaseName, shareOf } from './entity-partitions.js';

/** Consecutive ticks a member slot must be seen held to count as live. */
const SIGHTINGS = 3;
/** Free slots probed above the highest live one. */
const PROBE_AHEAD = 2;

export interface OwnershipHandlers {
  /** Start serving `partition` (its lease is held). A throw releases the lease; the next tick tries again. */
  take(partition: number): Promise<void>;
  /** Stop serving `partition`: resolve once nothing of it runs any more. */
  give(partition: number): Promise<void>;
}

export interface OwnershipSettings {
  readonly typeName: string;
  readonly partitions: number;
  readonly maxMembers: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly acquireLease: (name: string) => Promise<Lease | undefined>;
  /** The journal's `heldLeases`, where it has one: members are then counted exactly, in one query. */
  readonly heldLeases?: ((names: readonly string[]) => Promise<ReadonlySet<string>>) | undefined;
}

export interface OwnershipState {
  /** This member's slot, while it holds one. */
  readonly slot: number | undefined;
  /** Live members as counted on the last tick (this one included). */
  readonly members: number;
  /** Partitions served now, ascending. */
  readonly partitions: readonly number[];
}

export class PartitionOwnership {
  readonly #settings: OwnershipSettings;
  readonly #handlers: OwnershipHandlers;
  readonly #held = new Map<number, Lease>();
  #slot: { index: number; lease: Lease } | undefined;
  #members = 0;
  /** The live slots each of the last ticks saw, newest last (see #countMembers). */
  readonly #sightings: Set<number>[] = [];
  /** Every change of ownership runs on this chain, one at a time (ticks, losses, stop). */
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #listeners = new Set<() => void>();

  constructor(settings: OwnershipSettings, handlers: OwnershipHandlers) {
    this.#settings = settings;
    this.#handlers = handlers;
  }

  get state(): OwnershipState {
    return { slot: this.#slot?.index, members: this.#members, partitions: [...this.#held.keys()].sort((a, b) => a - b) };
  }

  /** Called after every tick that changed something (tests and metrics wait on it instead of sleeping). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs the first tick (resolves when it is done) and schedules the next ones. */
  async start(): Promise<void> {
    await this.#serial(() => this.#tick());
    this.#schedule();
  }

  /** Gives every partition up (consumers closed, entities stopped), then the slot. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#serial(async () => {
      await Promise.all([...this.#held.keys()].map((partition) => this.#give(partition)));
      const slot = this.#slot;
      this.#slot = undefined;
      await slot?.lease.release();
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#serial(() => this.#tick()).finally(() => this.#schedule());
    }, this.#settings.intervalMs);
  }

  #serial(step: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(step).catch((error: unknown) => {
      // The store could not be asked (database away): nothing changed; the next tick asks again.
      this.#settings.logger.warn({ err: error }, 'amqpEntities: a lease step failed; retrying on the next tick');
    });
    this.#chain = run;
    return run;
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const before = `${this.#slot?.index}/${this.#members}/${[...this.#held.keys()].join(',')}`;
    try {
      if (!(await this.#ensureSlot())) return;
      const { live, rank } = await this.#countMembers();
      this.#members = live;
      const share = shareOf(this.#settings.partitions, live, rank);

      if (this.#held.size > share) await this.#giveExtras(this.#held.size - share);
      else if (this.#held.size < share) await this.#takeFree(share - this.#held.size, rank, live);
    } finally {
      const after = `${this.#slot?.index}/${this.#members}/${[...this.#held.keys()].join(',')}`;
      if (after !== before) for (const listener of [...this.#listeners]) listener();
    }
  }

  async #ensureSlot(): Promise<boolean> {
    if (this.#slot?.lease.held) return true;
    this.#slot = undefined;
    for (let index = 0; index < this.#settings.maxMembers; index++) {
      const lease = await this.#settings.acquireLease(memberLeaseName(this.#settings.typeName, index));
      if (lease === undefined) continue;
      this.#slot = { index, lease };
      return true;
    }
    this.#settings.logger.warn({ maxMembers: this.#settings.maxMembers }, 'amqpEntities: every member slot is taken; this process serves no partition until one is free');
    return false;
  }

  /**
   * The live member slots and this member's rank among them. With the journal's `heldLeases` this is
   * one exact question. Without it, every other slot is tried (a slot found free is released at once);
   * such a probe holds a free slot for a moment, so another member probing that slot then sees it
   * taken: a sighting can be false, a free slot never is. A slot then counts as live once it was seen
   * held on `SIGHTINGS` ticks in a row, and as gone as soon as one probe finds it free.
   */
  async #countMembers(): Promise<{ live: number; rank: number }> {
    const { typeName, maxMembers, heldLeases } = this.#settings;
    const mine = this.#slot!.index;
    let seen: Set<number>;
    if (heldLeases !== undefined) {
      const names = Array.from({ length: maxMembers }, (_, index) => memberLeaseName(typeName, index));
      const held = await heldLeases(names);
      seen = new Set(names.flatMap((name, index) => (held.has(name) ? [index] : [])));
      seen.add(mine);
    } else {
      seen = await this.#probeMembers(mine);
    }
    this.#sightings.push(seen);
    if (this.#sightings.length > (heldLeases !== undefined ? 1 : SIGHTINGS)) this.#sightings.shift();
    let live = 0;
    let rank = 0;
    for (const index of seen) {
      if (!this.#sightings.every((sighting) => sighting.has(index))) continue;
      live++;
      if (index < mine) rank++;
    }
    return { live, rank };
  }

  async #probeMembers(mine: number): Promise<Set<number>> {
    const seen = new Set<number>([mine]);
    // Members take the lowest free slot, so live slots sit low: probing a few past the highest one
    // seen finds a joiner without trying all of maxMembers on every tick.
    const highest = Math.max(mine, ...(this.#sightings.at(-1) ?? []));
    const limit = Math.min(this.#settings.maxMembers, highest + 1 + PROBE_AHEAD);
    for (let index = 0; index < limit; index++) {
      if (index === mine) continue;
      const probe = await this.#settings.acquireLease(memberLeaseName(this.#settings.typeName, index));
      if (probe === undefined) seen.add(index);
      else await probe.release();
    }
    return seen;
  }

  async #giveExtras(count: number): Promise<void> {
    const extras = [...this.#held.keys()].sort((a, b) => b - a).slice(0, count);
    await Promise.all(extras.map((partition) => this.#give(partition)));
  }

  async #takeFree(count: number, rank: number, live: number): Promise<void> {
    const partitions = this.#settings.partitions;
    const start = Math.floor((rank * partitions) / live);
    const taken: { partition: number; lease: Lease }[] = [];
    const names = Array.from({ length: partitions }, (_, partition) => partitionLeaseName(this.#settings.typeName, partition));
    // One question instead of a failed try per partition held elsewhere (a joiner finds most held).
    const heldElsewhere = (await this.#settings.heldLeases?.(names)) ?? new Set<string>();
    for (let i = 0; i < partitions && taken.length < count; i++) {
      const partition = (start + i) % partitions;
      if (this.#held.has(partition) || heldElsewhere.has(names[partition]!)) continue;
      const lease = await this.#settings.acquireLease(names[partition]!);
      if (lease !== undefined) taken.push({ partition, lease });
    }
    // Consumers start side by side: after a failover every moved partition waits for this.
    await Promise.all(
      taken.map(async ({ partition, lease }) => {
        try {
          await this.#handlers.take(partition);
        } catch (error) {
          await lease.release();
          this.#settings.logger.warn({ err: error, partition }, 'amqpEntities: could not start serving a partition; trying again on the next tick');
          return;
        }
        this.#held.set(partition, lease);
        void lease.lost.then((reason) => this.#lost(partition, lease, reason));
      }),
    );
  }

  #lost(partition: number, lease: Lease, reason: Error): void {
    this.#settings.logger.warn({ err: reason, partition }, 'amqpEntities: a partition lease was lost; its consumer stops now');
    void this.#serial(async () => {
      if (this.#held.get(partition) !== lease) return;
      await this.#give(partition);
      for (const listener of [...this.#listeners]) listener();
    });
  }

  async #give(partition: number): Promise<void> {
    const lease = this.#held.get(partition);
    if (lease === undefined) return;
    try {
      await this.#handlers.give(partition);
    } finally {
      this.#held.delete(partition);
      await lease.release();
    }
  }
}
