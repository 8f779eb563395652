import { ActorSystem } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';
import { amqpEntityConsumer, DeduplicatingEntity, type InboundDelivery } from 'steadfast/amqp';

type Billed = { type: 'billed'; invoice: number; amount: number };
class Customer extends DeduplicatingEntity<{ total: number }, Billed> {
  constructor(id: string) {
    super(`customer-${id}`, { total: 0 });
  }
  protected applyDelivery(delivery: InboundDelivery): Billed[] {
    const { invoice, amount } = delivery.body as { invoice: number; amount: number }; // decide
    return [{ type: 'billed', invoice, amount }];
  }
  protected applyEvent(state: { total: number }, event: Billed) {
    return { total: state.total + event.amount }; // evolve: runs live and on replay
  }
}
const system = ActorSystem.create('ledger', { journal: sqliteJournal({ path: './data/ledger.db' }), snapshotStore: sqliteSnapshotStore({ path: './data/ledger.db' }) });
await amqpEntityConsumer({
  system,
  url: 'amqp://guest:guest@127.0.0.1:5672',
  queue: 'invoices',
  entityId: (message) => String((message.body as { customer?: string }).customer),
  entityFactory: (id) => new Customer(id),
}).start();
