import { randomUUID } from 'node:crypto';
import type { ActorCell } from '../actor/actor-cell.js';
import type { ActorRef } from '../actor/actor-ref.js';
import type { Envelope } from '../actor/mailbox.js';
import { InternalStash } from './internal-stash.js';
import type { Persistence } from './persistence.js';
import type { ResolvedActorSettings } from './persistence-settings.js';
import type { PipelineHost } from './write-pipeline.js';

export type Phase = 'starting' | 'recovering' | 'processing' | 'stopped';

/** The hooks of the actor the host calls back (PersistentActor's overridable ones). */
export interface PersistenceHooks {
  onPersistRejected(cause: Error, event: unknown, sequenceNr: number): void;
  onPersistFailure(cause: Error, event: unknown, sequenceNr: number): void;
}

/**
 * The per-actor state the write pipeline and the actor share: its phase, its highest sequence number
 * and the commands it holds back. One object with prototype methods instead of a bag of closures:
 * an entity host keeps 100 000 persistent actors alive at once, and each closure cost ~60 bytes.
 */
export class PersistentActorHost implements PipelineHost {
  phase: Phase = 'starting';
  lastSequenceNr = 0;
  #writerUuid: string | undefined;
  #stash: InternalStash | undefined;

  constructor(
    readonly persistence: Persistence,
    readonly cell: ActorCell,
    private readonly hooks: PersistenceHooks,
  ) {}

  /** Made on the first write: an actor that only recovers and reads never needs one. */
  get writerUuid(): string {
    if (this.#writerUuid === undefined) {
      this.#writerUuid = flatten(randomUUID());
    }
    return this.#writerUuid;
  }

  isActive(): boolean {
    return this.phase !== 'stopped';
  }

  setLastSequenceNr(sequenceNr: number): void {
    this.lastSequenceNr = sequenceNr;
  }

  onRejected(cause: Error, event: unknown, sequenceNr: number): void {
    this.hooks.onPersistRejected(cause, event, sequenceNr);
  }

  onFailed(cause: Error, event: unknown, sequenceNr: number): void {
    try {
      this.hooks.onPersistFailure(cause, event, sequenceNr);
    } finally {
      void this.cell.stop(this.cell.self);
    }
  }

  // A throwing event handler is a bug in the actor: the supervisor decides (restart by default).
  onHandlerFailed(error: unknown): void {
    this.cell.reportFailure(error);
  }

  onStashingDone(): void {
    this.#stash?.release();
  }

  /** Holds a command back (recovering, or a stashing persist pending). Bounded by the actor's settings. */
  stash(message: unknown, sender: ActorRef | undefined, settings: ResolvedActorSettings, persistenceId: string): void {
    this.#stash ??= new InternalStash(this.cell);
    this.#stash.add(message, sender, settings, persistenceId);
  }

  /** What the user unstashed goes in front of the commands held here. */
  prependToStash(envelopes: readonly Envelope[]): void {
    this.#stash ??= new InternalStash(this.cell);
    this.#stash.prepend(envelopes);
  }

  releaseStash(): void {
    this.#stash?.release();
  }

  drainStash(): Envelope[] {
    return this.#stash?.drain() ?? [];
  }
}

/**
 * `text` as one flat string. randomUUID() returns a rope of 14 pieces that V8 keeps as such (~490
 * bytes, held by the actor and by every event it stores in memory); the copy is ~70 bytes. A latin1
 * round trip is the cheapest copy measured (Number(), slice() and replace() keep the rope).
 */
function flatten(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}
