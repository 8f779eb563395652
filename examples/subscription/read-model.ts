/**
 * The query side (EF Core in the seed): a projection folds every subscription event into a table of
 * subscriptions, read from the journal in order and resumed after its stored offset when the program
 * starts again. The events carry the tag `subscription` (`tagSubscriptions`, an event adapter), so the
 * projection reads them by tag instead of replaying each actor.
 */
import { type ActorSystem, type EventAdapter, type EventEnvelope, type ProjectionHandle, startProjection, Tagged } from 'steadfast';
import { apply, EMPTY, type SubscriptionEvent, type SubscriptionState } from './subscription-state.js';

/** Tags every event of a subscription actor as it is persisted. */
export const tagSubscriptions: EventAdapter = {
  toJournal: (event) => new Tagged(event, ['subscription']),
};

export class SubscriptionReadModel {
  readonly #rows = new Map<string, SubscriptionState>();
  #waiters: (() => void)[] = [];

  /** The projection that keeps this read model; stop it with the system (it stops by itself then). */
  start(system: ActorSystem): ProjectionHandle {
    return startProjection(system, {
      name: 'subscription-read-model',
      query: (readJournal, offset, options) => readJournal.eventsByTag('subscription', offset, options),
      handler: (envelope) => this.#apply(envelope),
    });
  }

  get(subscriptionId: string): SubscriptionState | undefined {
    return this.#rows.get(subscriptionId);
  }

  /** Resolves once the row of `subscriptionId` passes `check` (the read model is eventually consistent). */
  async until(subscriptionId: string, check: (state: SubscriptionState) => boolean): Promise<SubscriptionState> {
    for (;;) {
      const state = this.#rows.get(subscriptionId);
      if (state !== undefined && check(state)) return state;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #apply(envelope: EventEnvelope): void {
    const subscriptionId = envelope.persistenceId.replace(/^subscription-/, '');
    this.#rows.set(subscriptionId, apply(this.#rows.get(subscriptionId) ?? EMPTY, envelope.event as SubscriptionEvent));
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
