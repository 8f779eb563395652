import { ActorSystem, ReceivePersistentActor, SnapshotOffer } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';

class Add {
  constructor(readonly amount: number) {}
}
type Added = { type: 'added'; amount: number };

class Counter extends ReceivePersistentActor<Add, Added> {
  readonly persistenceId = 'counter-1';
  total = 0;
  constructor() {
    super();
    this.command(Add, (cmd) =>
      this.persist({ type: 'added', amount: cmd.amount }, (event) => {
        this.total += event.amount; // runs once the event is in the journal
        this.sender.tell(this.total);
      }),
    );
    this.recover('added', (event) => (this.total += event.amount)); // replayed after a restart
    this.recover(SnapshotOffer, (offer) => (this.total = offer.snapshot as number));
  }
}
const system = ActorSystem.create('app', { journal: sqliteJournal({ path: './data/app.db' }), snapshotStore: sqliteSnapshotStore({ path: './data/app.db' }) });
const counter = system.actorOf(() => new Counter(), 'counter'); // ActorRef<Add>: counter.tell('add') does not compile
console.log(await counter.ask<number>(new Add(5))); // 5, then 10 on the next run
await system.terminate(); // flushes the journal and closes the database
