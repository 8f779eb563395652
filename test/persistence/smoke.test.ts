import { describe, expect, it } from 'vitest';
import { ActorSystem, PersistentActor, RecoveryCompleted, SnapshotOffer, inMemoryJournal, inMemorySnapshotStore } from '../../src/index.js';

type Cmd = { type: 'add'; n: number } | { type: 'get' };
type Ev = { type: 'added'; n: number };

class Counter extends PersistentActor<Cmd, Ev> {
  total = 0;
  recovered: unknown[] = [];
  constructor(readonly persistenceId: string) {
    super();
  }
  onCommand(command: Cmd) {
    if ((command as Cmd).type === 'add') {
      const n = (command as { n: number }).n;
      this.persist({ type: 'added', n }, (event) => {
        this.total += event.n;
        this.sender.tell(this.total);
      });
    } else if ((command as Cmd).type === 'get') this.sender.tell({ total: this.total, recovered: this.recovered.length, seq: this.lastSequenceNr });
  }
  onRecover(message: Ev | SnapshotOffer | RecoveryCompleted) {
    if (message instanceof RecoveryCompleted) return;
    if (message instanceof SnapshotOffer) return;
    this.recovered.push(message);
    this.total += message.n;
  }
}

describe('persistent actor smoke', () => {
  it('persists, replies, and recovers in a second system', async () => {
    const journal = inMemoryJournal();
    const snapshotStore = inMemorySnapshotStore();
    const a = ActorSystem.create('a', { journal, snapshotStore });
    const ref = a.actorOf(() => new Counter('c-1'), 'c');
    const replies = await Promise.all([ref.ask({ type: 'add', n: 1 }), ref.ask({ type: 'add', n: 2 }), ref.ask({ type: 'add', n: 3 })]);
    expect(replies).toEqual([1, 3, 6]);
    await a.terminate();
    const b = ActorSystem.create('b', { journal, snapshotStore });
    const ref2 = b.actorOf(() => new Counter('c-1'), 'c');
    expect(await ref2.ask({ type: 'get' })).toEqual({ total: 6, recovered: 3, seq: 3 });
    await b.terminate();
  });
});
