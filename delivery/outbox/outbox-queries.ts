/**
 * The outbox's answers to questions: its stats, what is in flight, the dead letters, a page of either,
 * and what became of one delivery id. Nothing here changes state; the actor tells the answer.
 */
import type { AtLeastOnceDeliveryActor, DeliveryInfo } from '../at-least-once-delivery-actor.js';
import type { JsonValue } from '../transport.js';
import { withPayloads } from './envelopes.js';
import type { OutboxRecords } from './outbox-records.js';
import type { DeadLetteredDelivery, DeliveryStatus, OutboxListPage, OutboxPage, OutboxQuery, OutboxStats } from './outbox-protocol.js';
import { pageOf } from './pages.js';

/** What the answers read of the delivering actor. */
export type QueriedActor = Pick<
  AtLeastOnceDeliveryActor,
  'unconfirmedDeliveries' | 'unconfirmedDelivery' | 'currentDeliveryId' | 'unconfirmedCount' | 'sendCount' | 'redeliveryCount' | 'failedSendCount' | 'lastSequenceNr'
>;

/** An in-flight delivery as answered: its payload, not the envelope an actor destination gets. */
type InFlight = Omit<DeliveryInfo, 'message'> & { readonly message: JsonValue };

export class OutboxQueries {
  constructor(
    private readonly actor: QueriedActor,
    private readonly records: OutboxRecords,
  ) {}

  answer(query: OutboxQuery): InFlight[] | DeadLetteredDelivery[] | OutboxStats {
    switch (query.what) {
      case 'in-flight':
        return withPayloads(this.actor.unconfirmedDeliveries());
      case 'dead-letters':
        return this.records.deadLetters.list();
      case 'stats':
      case 'delivery':
        return {
          accepted: this.records.accepted,
          sent: this.actor.sendCount,
          redelivered: this.actor.redeliveryCount,
          failed: this.actor.failedSendCount,
          confirmed: this.records.confirmed,
          deadLettered: this.records.deadLetters.size,
          inFlight: this.actor.unconfirmedCount,
          inFlightBytes: this.records.payloads.bytes,
          lastSequenceNr: this.actor.lastSequenceNr,
        };
    }
  }

  page(command: OutboxListPage): OutboxPage<InFlight> | OutboxPage<DeadLetteredDelivery> {
    if (command.what === 'in-flight') {
      // Filtered and paged before the payloads are read: a large one is parsed from its bytes when read (held-message.ts).
      const page = pageOf(matching(this.actor.unconfirmedDeliveries(), command.where), command.after, command.limit);
      return { ...page, items: withPayloads(page.items) };
    }
    return pageOf(matching(this.records.deadLetters.list(), command.where), command.after, command.limit);
  }

  status(deliveryId: number): DeliveryStatus {
    const inFlight = this.actor.unconfirmedDelivery(deliveryId);
    if (inFlight) return { status: 'in-flight', deliveryId, attempts: inFlight.attempt, lastError: inFlight.lastError, destination: inFlight.destination };
    if (deliveryId < 1 || deliveryId > this.actor.currentDeliveryId) return { status: 'unknown', deliveryId };
    const cancelled = this.records.cancelled.get(deliveryId);
    if (cancelled) return { status: 'cancelled', ...cancelled };
    const known = this.records.deadLetters.statusOf(deliveryId);
    if (known !== 'finished') return known;
    return this.records.cancelled.mayHaveForgotten(deliveryId) ? { status: 'forgotten', deliveryId } : { status: 'confirmed', deliveryId };
  }
}

function matching<T>(items: T[], where: ((item: never) => boolean) | undefined): T[] {
  return where === undefined ? items : items.filter(where as (item: T) => boolean);
}
