import { RecoveryTimeoutError } from './errors.js';
import type { Persistence } from './persistence.js';
import { SnapshotOffer } from './protocol.js';
import type { Recovery } from './recovery.js';
import { parseManifest } from './serialization.js';
import { asError } from '../actor/errors.js';

export interface RecoveryTarget {
  readonly persistence: Persistence;
  readonly persistenceId: string;
  readonly recovery: Recovery;
  readonly timeoutMs: number;
  /** False once the actor stopped or restarted: the replay is abandoned. */
  isAlive(): boolean;
  /** Hands a SnapshotOffer or an event to onRecover. */
  deliver(message: unknown): void;
  setLastSequenceNr(sequenceNr: number): void;
  lastSequenceNr(): number;
  /**
   * Asked right after the SnapshotOffer: the lowest sequence number of events the snapshot covers that
   * the actor wants to read again (a snapshot that references payloads kept in the journal), or
   * undefined. Those events go to `deliverCovered`, then `coveredDone` runs, then the replay proper.
   */
  coveredFrom(): number | undefined;
  deliverCovered(event: unknown, sequenceNr: number): void;
  coveredDone(): void;
}

export interface RecoveryFailure {
  readonly cause: Error;
  readonly event?: unknown;
}

class RecoveryAbandoned extends Error {}

/**
 * One recovery: wait for a permit, offer the newest matching snapshot, replay the events after it
 * (streamed from the journal, never held all at once), then read the highest sequence number so that
 * numbering continues after deleted or unreplayed events. Resolves with that highest number; rejects
 * with a RecoveryFailure. Fails when no progress was made for `timeoutMs`.
 */
export async function runRecovery(target: RecoveryTarget): Promise<number> {
  const { persistence, persistenceId, recovery } = target;
  await persistence.recoveryPermits.acquire();
  let lastProgress = performance.now();
  let currentEvent: unknown;
  let timedOut: RecoveryTimeoutError | undefined;
  let rejectTimeout: ((error: unknown) => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    rejectTimeout = reject;
  });
  timeout.catch(() => {});
  const watchdog = setInterval(
    () => {
      if (performance.now() - lastProgress > target.timeoutMs) {
        timedOut = new RecoveryTimeoutError(persistenceId, target.timeoutMs, target.lastSequenceNr());
        rejectTimeout?.(timedOut);
      }
    },
    Math.max(10, Math.min(1000, target.timeoutMs / 4)),
  );
  const work = async (): Promise<number> => {
    const criteria = recovery.fromSnapshot.limitTo(recovery.toSequenceNr);
    let offeredAt = 0;
    if (criteria.maxSequenceNr > 0 && criteria.maxTimestamp > 0) {
      const stored = await persistence.loadSnapshot(persistenceId, criteria);
      lastProgress = performance.now();
      if (stored) {
        const snapshot = persistence.serialization.deserialize(stored.snapshot);
        currentEvent = snapshot;
        if (!target.isAlive()) throw new RecoveryAbandoned();
        // As in Akka, lastSequenceNr already names the snapshot's position while it is offered.
        target.setLastSequenceNr(stored.metadata.sequenceNr);
        target.deliver(new SnapshotOffer(stored.metadata, snapshot));
        offeredAt = stored.metadata.sequenceNr;
      }
    }
    const adapters = persistence.adapters;
    const serialization = persistence.serialization;
    const snapshotSequenceNr = target.lastSequenceNr();
    const coveredFrom = offeredAt > 0 ? target.coveredFrom() : undefined;
    if (coveredFrom !== undefined) {
      // A read of its own, so that replayMax and toSequenceNr keep meaning the events after the snapshot.
      await persistence.replayMessages(persistenceId, Math.max(1, coveredFrom), snapshotSequenceNr, Number.MAX_SAFE_INTEGER, (repr) => {
        if (timedOut) throw timedOut;
        if (!target.isAlive()) throw new RecoveryAbandoned();
        lastProgress = performance.now();
        const payload = serialization.deserialize(repr);
        currentEvent = payload;
        if (adapters.isEmpty) target.deliverCovered(payload, repr.sequenceNr);
        else for (const event of adapters.fromJournal(payload, parseManifest(repr.manifest))) target.deliverCovered(event, repr.sequenceNr);
      });
      currentEvent = undefined;
      if (!target.isAlive()) throw new RecoveryAbandoned();
      target.coveredDone();
    }
    const from = snapshotSequenceNr + 1;
    let highest: number | undefined;
    if (recovery.toSequenceNr >= from && recovery.replayMax > 0) {
      highest = await persistence.replayForRecovery(persistenceId, from, recovery.toSequenceNr, recovery.replayMax, (repr) => {
        if (timedOut) throw timedOut;
        if (!target.isAlive()) throw new RecoveryAbandoned();
        lastProgress = performance.now();
        const payload = serialization.deserialize(repr);
        currentEvent = payload;
        // As in Akka, onRecover sees lastSequenceNr = the replayed event's number, the same value a
        // persist handler sees for the event it handles.
        target.setLastSequenceNr(repr.sequenceNr);
        if (adapters.isEmpty) {
          target.deliver(payload);
        } else {
          for (const event of adapters.fromJournal(payload, parseManifest(repr.manifest))) {
            currentEvent = event;
            target.deliver(event);
          }
        }
      });
    }
    currentEvent = undefined;
    highest ??= await persistence.readHighestSequenceNr(persistenceId, target.lastSequenceNr());
    return Math.max(highest, target.lastSequenceNr());
  };
  try {
    return await Promise.race([work(), timeout]);
  } catch (error) {
    const failure: RecoveryFailure = {
      cause: asError(error),
      ...(currentEvent !== undefined ? { event: currentEvent } : {}),
    };
    throw failure;
  } finally {
    clearInterval(watchdog);
    persistence.recoveryPermits.release();
  }
}
