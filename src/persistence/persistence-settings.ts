import { InvalidOptionError } from '../actor/errors.js';
import type { CircuitBreakerSettings } from './circuit-breaker.js';
import type { EventAdapter } from './event-adapter.js';
import type { AsyncWriteJournal } from './journal.js';
import type { Serializer } from './serialization.js';
import type { SnapshotStore } from './snapshot-store.js';
import type { ActorSystem } from '../actor/actor-system.js';

/** A plugin, or a factory that makes it for the system (called once, when persistence is first used). */
export type PluginOption<Plugin> = Plugin | ((system: ActorSystem) => Plugin);

/**
 * What happens to a command that arrives while a persistent actor's internal stash is full:
 * - `drop`: it goes to dead letters, with a logged warning (Akka's DiscardToDeadLetterStrategy);
 * - `reply`: its sender gets a StatusFailure carrying a StashOverflowError (an `ask` rejects).
 * Either way the actor carries on; it is never restarted because of an overflow.
 */
export type StashOverflowStrategy = 'drop' | 'reply';

/** Settings that each persistent actor may also set for itself (constructor options). */
export interface PersistentActorSettings {
  /** Commands held while a persist is pending or while recovering. Default 100 000. */
  internalStashCapacity?: number;
  internalStashOverflowStrategy?: StashOverflowStrategy;
  /** Recovery fails when no snapshot or event arrived for this long, ms. Default 30 000. */
  recoveryEventTimeoutMs?: number;
}

export interface PersistenceOptions extends PersistentActorSettings {
  /** At most this many actors recover at the same time; the rest wait their turn in order. Default 50. */
  maxConcurrentRecoveries?: number;
  journalCircuitBreaker?: Partial<CircuitBreakerSettings>;
  snapshotCircuitBreaker?: Partial<CircuitBreakerSettings>;
  /** Asked in order before the JSON serializer. */
  serializers?: readonly Serializer[];
  eventAdapters?: readonly EventAdapter[];
  /** Current schema version per event type name, written into manifests (default 1). */
  schemaVersions?: Readonly<Record<string, number>>;
  /** The read side (`readJournalOf(system)`). */
  query?: ReadJournalOptions;
}

/** Settings of the system's read journal. */
export interface ReadJournalOptions {
  /** Rows per statement. Default 500. */
  pageSize?: number;
  /** Queries waiting for a statement at most; one more fails at once with QueryThrottledError. Default 10 000. */
  maxQueuedQueries?: number;
  /** How long a query waits for a statement before it fails with QueryThrottledError. Default 3 000 ms. */
  queryThrottleTimeoutMs?: number;
}

export interface ResolvedQuerySettings {
  readonly pageSize: number;
  readonly maxQueuedQueries: number;
  readonly queryThrottleTimeoutMs: number;
}

export function resolveQuerySettings(options: ReadJournalOptions = {}): ResolvedQuerySettings {
  return {
    pageSize: positiveIntegerSetting('persistence.query', 'pageSize', options.pageSize, 500),
    maxQueuedQueries: positiveIntegerSetting('persistence.query', 'maxQueuedQueries', options.maxQueuedQueries, 10_000),
    queryThrottleTimeoutMs: positiveIntegerSetting('persistence.query', 'queryThrottleTimeoutMs', options.queryThrottleTimeoutMs, 3_000),
  };
}

declare module '../actor/actor-system.js' {
  interface ActorSystemOptions {
    /**
     * Where events go: a journal, or a factory called with the system. Default (ActorSystem.create from
     * `steadfast`): the in-memory journal (nothing survives a restart; it warns).
     */
    journal?: PluginOption<AsyncWriteJournal>;
    /** Where snapshots go (or a factory). Default (from `steadfast`): local files under ./snapshots. */
    snapshotStore?: PluginOption<SnapshotStore>;
    persistence?: PersistenceOptions;
  }
}

export interface ResolvedActorSettings {
  readonly internalStashCapacity: number;
  readonly internalStashOverflowStrategy: StashOverflowStrategy;
  readonly recoveryEventTimeoutMs: number;
}

export interface ResolvedPersistenceSettings extends ResolvedActorSettings {
  readonly maxConcurrentRecoveries: number;
  readonly query: ResolvedQuerySettings;
  readonly journalCircuitBreaker: CircuitBreakerSettings;
  readonly snapshotCircuitBreaker: CircuitBreakerSettings;
}

export function positiveIntegerSetting(owner: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`${owner} option ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function resolveActorSettings(owner: string, options: PersistentActorSettings, base: ResolvedActorSettings): ResolvedActorSettings {
  // Most actors set none of these: they share the system's object instead of holding a copy each.
  if (options.internalStashCapacity === undefined && options.internalStashOverflowStrategy === undefined && options.recoveryEventTimeoutMs === undefined) {
    return base;
  }
  const strategy = options.internalStashOverflowStrategy ?? base.internalStashOverflowStrategy;
  if (strategy !== 'drop' && strategy !== 'reply') {
    throw new InvalidOptionError(`${owner} option internalStashOverflowStrategy must be "drop" or "reply", got ${JSON.stringify(strategy)}`);
  }
  return {
    internalStashCapacity: positiveIntegerSetting(owner, 'internalStashCapacity', options.internalStashCapacity, base.internalStashCapacity),
    internalStashOverflowStrategy: strategy,
    recoveryEventTimeoutMs: positiveIntegerSetting(owner, 'recoveryEventTimeoutMs', options.recoveryEventTimeoutMs, base.recoveryEventTimeoutMs),
  };
}

function breakerSettings(name: string, options: Partial<CircuitBreakerSettings> | undefined): CircuitBreakerSettings {
  const owner = `persistence.${name}`;
  return {
    maxFailures: positiveIntegerSetting(owner, 'maxFailures', options?.maxFailures, 10),
    callTimeoutMs: positiveIntegerSetting(owner, 'callTimeoutMs', options?.callTimeoutMs, 10_000),
    resetTimeoutMs: positiveIntegerSetting(owner, 'resetTimeoutMs', options?.resetTimeoutMs, 30_000),
  };
}

export function resolvePersistenceSettings(options: PersistenceOptions = {}): ResolvedPersistenceSettings {
  const actor = resolveActorSettings('persistence', options, {
    internalStashCapacity: 100_000,
    internalStashOverflowStrategy: 'drop',
    recoveryEventTimeoutMs: 30_000,
  });
  return {
    ...actor,
    maxConcurrentRecoveries: positiveIntegerSetting('persistence', 'maxConcurrentRecoveries', options.maxConcurrentRecoveries, 50),
    journalCircuitBreaker: breakerSettings('journalCircuitBreaker', options.journalCircuitBreaker),
    snapshotCircuitBreaker: breakerSettings('snapshotCircuitBreaker', options.snapshotCircuitBreaker),
    query: resolveQuerySettings(options.query),
  };
}
