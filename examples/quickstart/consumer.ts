import { ActorSystem } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';
import { amqpEntityConsumer, DeduplicatingEntity, type InboundDelivery } from 'steadfast/amqp';

type Invoice = { customer: string; invoice: number; amount: number };
type Billed = { type: 'billed'; invoice: number; amount: number };
class Customer extends DeduplicatingEntity<{ total: number }, Billed> {
  constructor(id: string) {
    super(`customer-${id}`, { total: 0 });
  }
  protected applyDelivery(delivery: InboundDelivery, state: { total: number }): Billed[] {
    const { customer, invoice, amount } = delivery.body as Invoice; // decide (a duplicate never gets here)
    console.log(`customer ${customer}: invoice ${invoice}, total ${state.total + amount}`);
    return [{ type: 'billed', invoice, amount }];
  }
  protected applyEvent(state: { total: number }, event: Billed) {
    return { total: state.total + event.amount }; // evolve: runs live and on replay
  }
}
const { AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672', QUEUE = 'invoices' } = process.env;
const system = ActorSystem.create('ledger', { journal: sqliteJournal({ path: './data/ledger.db' }), snapshotStore: sqliteSnapshotStore({ path: './data/ledger.db' }) });
const consumer = amqpEntityConsumer({
  system,
  url: AMQP_URL,
  queue: QUEUE,
  entityId: (message) => (message.body as Invoice).customer,
  entityFactory: (id) => new Customer(id),
});
await consumer.start();
console.log(`consuming ${QUEUE}; Ctrl-C stops`);
process.once('SIGINT', async () => {
  await consumer.close(); // finishes what is in flight
  await system.terminate();
});
