import { ActorSystem, Outbox } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';
import { amqpTransport } from 'steadfast/amqp';

const system = ActorSystem.create('billing', {
  journal: sqliteJournal({ path: './data/billing.db' }),
  snapshotStore: sqliteSnapshotStore({ path: './data/billing.db' }),
  transports: [amqpTransport({ url: 'amqp://guest:guest@127.0.0.1:5672', serviceName: 'billing' })],
});
const outbox = Outbox.start(system, { redeliverInterval: 1000 });
// Resolves once persisted; sent now and again until the consumer confirms — also after a crash.
const { deliveryId } = await outbox.send({ transport: 'amqp', queue: 'invoices' }, { invoice: 42 }, { idempotencyKey: 'invoice-42' });
console.log(`invoice 42 is delivery ${deliveryId}`); // keep the process running: it redelivers until confirmed
