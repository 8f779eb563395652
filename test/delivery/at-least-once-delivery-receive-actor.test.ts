/**
 * AtLeastOnceDeliveryReceiveActor: the at-least-once sender written with typed handlers, as in the
 * seeds. Deliveries made in persist and recover handlers, confirmations taken by a
 * `command(DeliveryConfirmed, ...)` handler, the unconfirmed ones sent again after a restart (from a
 * delivery snapshot plus the events after it), and an unhandled persistence reply (the snapshot's)
 * kept out of dead letters.
 */
import { describe, expect, it } from 'vitest';
import {
  AtLeastOnceDeliveryReceiveActor,
  DeliveryConfirmed,
  SaveSnapshotSuccess,
  SnapshotOffer,
  type ActorRef,
  type ActorSystem,
  type AtLeastOnceDeliverySnapshot,
} from '../../src/index.js';
import { captureLogs } from '../persistence/support/harness.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { isPayload, LossyDestination, stores, systemsWithClock, type Payload } from './support/delivery-fixtures.js';

type Command = { type: 'send'; text: string } | { type: 'snapshot' } | DeliveryConfirmed;
type Event = { type: 'sent'; text: string } | { type: 'confirmed'; deliveryId: number };

class Mailer extends AtLeastOnceDeliveryReceiveActor<Command, Event> {
  readonly persistenceId = 'mailer';

  constructor(destination: ActorRef, confirmations: ActorRef) {
    super({ redeliverInterval: 100 });
    const sent = (event: Extract<Event, { type: 'sent' }>): void => {
      this.deliver(destination, (id): Payload => ({ id, text: event.text }));
    };
    const confirmed = (event: Extract<Event, { type: 'confirmed' }>): void => {
      this.confirmDelivery(event.deliveryId);
    };
    this.recover(SnapshotOffer, (offer) => this.setDeliverySnapshot(offer.snapshot as AtLeastOnceDeliverySnapshot));
    this.recover('sent', sent);
    this.recover('confirmed', confirmed);
    this.command('send', (cmd) =>
      this.persist({ type: 'sent', text: cmd.text }, (event) => {
        sent(event);
        this.sender.tell('persisted');
      }),
    );
    this.command(DeliveryConfirmed, (cmd) =>
      this.persist({ type: 'confirmed', deliveryId: cmd.deliveryId }, (event) => {
        confirmed(event);
        confirmations.tell(event.deliveryId);
      }),
    );
    this.command('snapshot', () => this.saveSnapshot(this.getDeliverySnapshot()));
  }
}

function start(system: ActorSystem, drop: number) {
  const seen = TestProbe.create(system, 'seen');
  const confirmations = TestProbe.create(system, 'confirmations');
  const destination = system.actorOf(() => new LossyDestination(drop, seen.ref), 'destination');
  const mailer = system.actorOf(() => new Mailer(destination, confirmations.ref), 'mailer');
  return { seen, confirmations, mailer };
}

describe('AtLeastOnceDeliveryReceiveActor', () => {
  const { systems } = systemsWithClock();

  it('delivers from persist handlers, redelivers what is lost, and takes confirmations through a typed handler', async () => {
    const system = systems.start('receive-style', stores());
    const { seen, confirmations, mailer } = start(system, 1);
    mailer.tell({ type: 'send', text: 'a' });
    mailer.tell({ type: 'send', text: 'b' });
    const arrived = [await seen.expectMsg<Payload>(isPayload), await seen.expectMsg<Payload>(isPayload)];
    expect(arrived.map((payload) => payload.text).sort()).toEqual(['a', 'b']);
    expect([await confirmations.expectMsg<number>((m) => typeof m === 'number'), await confirmations.expectMsg<number>((m) => typeof m === 'number')].sort()).toEqual([1, 2]);
  });

  it('sends the unconfirmed deliveries again after a restart, rebuilt by its recover handlers', async () => {
    const plugins = stores();
    const logs = captureLogs();
    const first = systems.start('receive-style-1', plugins, { logger: logs.logger });
    const lost = start(first, Number.MAX_SAFE_INTEGER); // a destination that never confirms
    const deadLetters: unknown[] = [];
    first.onDeadLetter((letter) => deadLetters.push(letter.message));
    lost.mailer.tell({ type: 'send', text: 'kept' });
    lost.mailer.tell({ type: 'snapshot' }); // its SaveSnapshotSuccess has no handler: dropped, not dead-lettered
    await logs.waitFor((line) => line.msg === 'persistence reply not handled; dropped' && line.reply === 'SaveSnapshotSuccess');
    expect(await lost.mailer.ask({ type: 'send', text: 'after the snapshot' })).toBe('persisted');
    await first.terminate();
    expect(deadLetters.filter((message) => message instanceof SaveSnapshotSuccess)).toEqual([]);

    const logs2 = captureLogs();
    const second = systems.start('receive-style-2', plugins, { logger: logs2.logger });
    setTimeout(() => console.log(logs2.lines.map((l) => l.msg).join('\n')), 2500);
    const { seen, confirmations } = start(second, 0);
    const resent = [await seen.expectMsg<Payload>(isPayload), await seen.expectMsg<Payload>(isPayload)];
    expect(resent.map(({ id, text }) => ({ id, text })).sort((x, y) => x.id - y.id)).toEqual([
      { id: 1, text: 'kept' },
      { id: 2, text: 'after the snapshot' },
    ]);
    expect([await confirmations.expectMsg<number>((m) => typeof m === 'number'), await confirmations.expectMsg<number>((m) => typeof m === 'number')].sort()).toEqual([1, 2]);
  });
});
