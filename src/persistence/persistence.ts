import type { ActorSystem, ExtensionId } from '../actor/actor-system.js';
import { CircuitBreaker, type BreakerCallback } from './circuit-breaker.js';
import { NoJournalConfiguredError, PersistenceIdTakenError } from './errors.js';
import { EventAdapters } from './event-adapter.js';
import type { AsyncWriteJournal, WriteOutcome, ReplayedEvent } from './journal.js';
import { resolvePersistenceSettings, type PluginOption, type ResolvedPersistenceSettings } from './persistence-settings.js';
import type { AtomicWrite } from './persistent-repr.js';
import { RecoveryPermits } from './recovery-permits.js';
import { WriteGatherer } from './write-gatherer.js';
import { JsonSerializer, SerializationRegistry } from './serialization.js';
import type { SerializedValue } from './serialized-value.js';
import type { SnapshotMetadata } from './snapshot-metadata.js';
import type { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';
import type { SnapshotStore, StoredSnapshot } from './snapshot-store.js';

function resolvePlugin<Plugin extends object>(option: PluginOption<Plugin> | undefined, system: ActorSystem): Plugin | undefined {
  return typeof option === 'function' ? (option as (system: ActorSystem) => Plugin)(system) : option;
}

// Replays are bounded by the recovery event timeout, not by the breaker's call timeout.
const NO_CALL_TIMEOUT = 2_147_483_647;

/**
 * The persistence layer of one actor system: its journal and snapshot store behind circuit
 * breakers, serialization, the registry of live persistenceIds, and recovery permits.
 */
export class Persistence {
  static readonly id: ExtensionId<Persistence> = {
    name: 'persistence',
    create: (system) => new Persistence(system),
  };

  static get(system: ActorSystem): Persistence {
    return system.extension(Persistence.id);
  }

  readonly settings: ResolvedPersistenceSettings;
  readonly serialization: SerializationRegistry;
  readonly adapters: EventAdapters;
  readonly recoveryPermits: RecoveryPermits;
  readonly journal: AsyncWriteJournal;
  readonly snapshotStore: SnapshotStore;
  readonly #journalBreaker: CircuitBreaker;
  readonly #snapshotBreaker: CircuitBreaker;
  readonly #owners = new Map<string, object>();
  #inFlightWrites = 0;
  #writesDrained: (() => void) | undefined;
  #journalStarted = false;
  #journalReady: Promise<void> | undefined;
  #snapshotReady: Promise<void> | undefined;

  private constructor(private readonly system: ActorSystem) {
    const options = system.options.persistence ?? {};
    this.settings = resolvePersistenceSettings(options);
    this.serialization = new SerializationRegistry(options.serializers ?? [], new JsonSerializer(options.schemaVersions));
    this.adapters = new EventAdapters(options.eventAdapters ?? []);
    this.recoveryPermits = new RecoveryPermits(this.settings.maxConcurrentRecoveries);
    // The defaults (in-memory journal, local-file snapshots) live in journal/, a layer above this one:
    // the `steadfast` entry point's ActorSystem.create passes them as factories; this layer has none.
    const journal = resolvePlugin(system.options.journal, system);
    const snapshotStore = resolvePlugin(system.options.snapshotStore, system);
    if (!journal || !snapshotStore) throw new NoJournalConfiguredError();
    this.journal = journal;
    this.snapshotStore = snapshotStore;
    const log = system.log.child({ component: 'persistence' });
    this.#journalBreaker = new CircuitBreaker('journal', this.settings.journalCircuitBreaker, (state) => log.warn(`journal circuit breaker is now ${state}`));
    this.#snapshotBreaker = new CircuitBreaker('snapshot store', this.settings.snapshotCircuitBreaker, (state) => log.warn(`snapshot store circuit breaker is now ${state}`));
    system.registerOnTermination(() => this.#close());
  }

  /** Claims `persistenceId` for `owner` (an actor cell); a second live owner is refused. */
  claim(persistenceId: string, owner: object, ownerPath: string): void {
    const existing = this.#owners.get(persistenceId);
    // An actor stopped before it ever started never runs postStop, so its claim is released here.
    if (existing !== undefined && existing !== owner && (existing as { isTerminated?: boolean }).isTerminated !== true) {
      const path = (existing as { path?: string }).path ?? 'another actor';
      throw new PersistenceIdTakenError(persistenceId, path === ownerPath ? 'another actor' : path);
    }
    this.#owners.set(persistenceId, owner);
  }

  release(persistenceId: string, owner: object): void {
    if (this.#owners.get(persistenceId) === owner) this.#owners.delete(persistenceId);
  }

  serialize(value: unknown): SerializedValue {
    return this.serialization.serialize(value);
  }

  /**
   * Writes through the journal's circuit breaker; `callback` hears the outcomes (or the failure of the
   * whole call) exactly once. A callback rather than a promise: this runs for every write of every
   * actor, and the write pipeline keeps one callback object for its life instead of a chain per write.
   */
  writeMessages(writes: readonly AtomicWrite[], callback: BreakerCallback<readonly WriteOutcome[]>): void {
    this.#inFlightWrites++;
    this.#gatherer.add(writes, callback);
  }

  /** Writes of many actors gathered in one microtask checkpoint: one journal call (write-gatherer.ts). */
  readonly #gatherer = new WriteGatherer((writes, callback, callers) => {
    // Once the journal started, skip the extra async step of waiting for its start.
    const write = this.#journalStarted ? this.#writeToJournal : this.#startThenWriteToJournal;
    this.#journalBreaker.run('writeMessages', write, writes, callback, undefined, () => this.#writesSettled(callers));
  });

  readonly #writeToJournal = (writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> => this.journal.writeMessages(writes);

  readonly #startThenWriteToJournal = async (writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> => {
    await this.#startJournal();
    return this.journal.writeMessages(writes);
  };

  #writesSettled(count: number): void {
    this.#inFlightWrites -= count;
    if (this.#inFlightWrites === 0 && this.#writesDrained) {
      this.#writesDrained();
      this.#writesDrained = undefined;
    }
  }

  replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    return this.#journalBreaker.call(
      'replayMessages',
      async () => {
        await this.#startJournal();
        await this.journal.replayMessages(persistenceId, fromSequenceNr, toSequenceNr, max, onMessage);
      },
      NO_CALL_TIMEOUT,
    );
  }

  /** A recovery's replay followed by its highest sequence number (see AsyncWriteJournal.replayForRecovery). */
  replayForRecovery(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<number> {
    const journal = this.journal;
    if (journal.replayForRecovery === undefined) {
      return this.replayMessages(persistenceId, fromSequenceNr, toSequenceNr, max, onMessage).then(() => this.readHighestSequenceNr(persistenceId, fromSequenceNr));
    }
    return this.#journalBreaker.call(
      'replayMessages',
      async () => {
        await this.#startJournal();
        return journal.replayForRecovery!(persistenceId, fromSequenceNr, toSequenceNr, max, onMessage);
      },
      NO_CALL_TIMEOUT,
    );
  }

  readHighestSequenceNr(persistenceId: string, fromSequenceNr: number): Promise<number> {
    return this.#journalBreaker.call('readHighestSequenceNr', async () => {
      await this.#startJournal();
      return this.journal.readHighestSequenceNr(persistenceId, fromSequenceNr);
    });
  }

  deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    return this.#journalBreaker.call('deleteMessagesTo', async () => {
      await this.#startJournal();
      await this.journal.deleteMessagesTo(persistenceId, toSequenceNr);
    });
  }

  loadSnapshot(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    return this.#snapshotBreaker.call('load', async () => {
      await this.#startSnapshotStore();
      return this.snapshotStore.load(persistenceId, criteria);
    });
  }

  saveSnapshot(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    return this.#snapshotBreaker.call('save', async () => {
      await this.#startSnapshotStore();
      await this.snapshotStore.save(metadata, snapshot);
    });
  }

  deleteSnapshot(metadata: SnapshotMetadata): Promise<void> {
    return this.#snapshotBreaker.call('delete', async () => {
      await this.#startSnapshotStore();
      await this.snapshotStore.delete(metadata);
    });
  }

  deleteSnapshots(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    return this.#snapshotBreaker.call('deleteMatching', async () => {
      await this.#startSnapshotStore();
      await this.snapshotStore.deleteMatching(persistenceId, criteria);
    });
  }

  /** Resolves when the journal answers (health checks). */
  async pingJournal(): Promise<void> {
    await this.#startJournal();
    await this.journal.ping?.();
  }

  #startJournal(): Promise<void> {
    this.#journalReady ??= Promise.resolve(this.journal.start?.()).then(
      () => {
        this.#journalStarted = true;
      },
      (error: unknown) => {
        // A failed start (server down, migration refused) is retried by the next call.
        this.#journalReady = undefined;
        throw error;
      },
    );
    return this.#journalReady;
  }

  #startSnapshotStore(): Promise<void> {
    this.#snapshotReady ??= Promise.resolve(this.snapshotStore.start?.()).catch((error: unknown) => {
      this.#snapshotReady = undefined;
      throw error;
    });
    return this.#snapshotReady;
  }

  async #close(): Promise<void> {
    // Writes issued before terminate() finish before the stores close: nothing accepted is dropped.
    if (this.#inFlightWrites > 0) await new Promise<void>((resolve) => (this.#writesDrained = resolve));
    const closing: Promise<void>[] = [this.journal.close()];
    if ((this.snapshotStore as unknown) !== (this.journal as unknown)) closing.push(this.snapshotStore.close());
    const results = await Promise.allSettled(closing);
    for (const result of results) {
      if (result.status === 'rejected') this.system.log.error({ err: result.reason }, 'closing a persistence plugin failed');
    }
  }
}
