/**
 * The outbox on the real PostgreSQL journal: what the journal refuses is answered at once with the
 * reason, nothing is sent, and the outbox goes on as if the send had never come.
 */
import { pino } from 'pino';
import { afterAll, afterEach, expect, it } from 'vitest';
import { EventRejectedError, postgresJournal, postgresSnapshotStore } from '../../journal/postgres/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { ActorSystem, DeliveryEnvelope, Outbox } from '../../src/index.js';
import { postgresResource } from '../support/services.js';

const pgr = await postgresResource('outbox_pg');
afterAll(() => pgr?.cleanup());

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.terminate();
  system = undefined;
});

it.runIf(pgr)('answers a payload PostgreSQL refuses (\\u0000 in jsonb) with EventRejectedError, sends nothing, and keeps the idempotency key free', async () => {
  const stores = { connectionString: pgr!.connectionString, schema: pgr!.schema };
  system = ActorSystem.create('outbox-pg', { journal: postgresJournal(stores), snapshotStore: postgresSnapshotStore(stores), logger: pino({ level: 'silent' }) });
  const receiver = TestProbe.create(system, 'receiver');
  const outbox = Outbox.start(system);

  const refused = outbox.send(receiver.ref, { text: 'nul \u0000 inside' }, { idempotencyKey: 'k-1' });
  await expect(refused).rejects.toBeInstanceOf(EventRejectedError);
  await receiver.expectNoMessage(200);

  // The same key is not stuck as "being persisted": a good payload under it goes through as new.
  expect(await outbox.send(receiver.ref, { text: 'fine' }, { idempotencyKey: 'k-1' })).toEqual({ deliveryId: 1, duplicate: false });
  expect(await receiver.expectMsg((message): message is DeliveryEnvelope => message instanceof DeliveryEnvelope)).toEqual(new DeliveryEnvelope('outbox', 1, { text: 'fine' }));
  expect(await outbox.stats()).toMatchObject({ accepted: 1, inFlight: 1 });
});
