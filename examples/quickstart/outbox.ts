import { setTimeout as sleep } from 'node:timers/promises';
import { ActorSystem, Outbox } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';
import { amqpTransport } from 'steadfast/amqp';

const { AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672', QUEUE = 'invoices', AMQP_SERVICE_NAME = 'billing' } = process.env;
const system = ActorSystem.create('billing', {
  journal: sqliteJournal({ path: './data/billing.db' }),
  snapshotStore: sqliteSnapshotStore({ path: './data/billing.db' }),
  transports: [amqpTransport({ url: AMQP_URL, serviceName: AMQP_SERVICE_NAME })], // replies come back on billing.replies
});
const outbox = Outbox.start(system, { redeliverInterval: 1000 });
// Resolves once persisted; sent now and again every second until the consumer confirms — also after a crash.
const invoice = { customer: 'c-7', invoice: 42, amount: 100 };
const { deliveryId, duplicate } = await outbox.send({ transport: 'amqp', queue: QUEUE }, invoice, { idempotencyKey: 'invoice-42' });
console.log(`invoice 42 is delivery ${deliveryId}${duplicate ? ' (sent before: the same key gives the same delivery)' : ''}`);
while ((await outbox.status(deliveryId)).status === 'in-flight') await sleep(100);
console.log(`delivery ${deliveryId}: ${(await outbox.status(deliveryId)).status}`); // confirmed
await system.terminate();
