/**
 * The writes of all actors that persist in one turn reach the journal as one call, and each actor still
 * hears only its own outcome: a stored event runs its handler, a failed write stops only its actor.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore, PersistentActor, Terminated, Actor, type ActorRef } from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/index.js';

const silent = pino({ level: 'silent' });

class Writer extends PersistentActor<'write', { type: 'written' }> {
  readonly persistenceId: string;
  constructor(id: string) {
    super();
    this.persistenceId = `writer-${id}`;
  }

  async onCommand(): Promise<void> {
    await this.persist({ type: 'written' }, () => this.sender.tell('stored'));
  }

  onRecover(): void {}
}

/** Watches the writers and reports which of them stopped. */
class Watcher extends Actor<ActorRef> {
  readonly stopped: string[] = [];
  receive(message: unknown): void {
    if (message instanceof Terminated) this.stopped.push(message.actor.name);
    else this.context.watch(message as ActorRef);
  }
}

describe('writes gathered across actors', () => {
  const systems: ActorSystem[] = [];
  afterEach(async () => {
    await Promise.all(systems.splice(0).map((system) => system.terminate()));
  });

  it('sends the writes of 200 actors that persist at once in far fewer journal calls, each actor answered', async () => {
    const journal = new TestJournal(inMemoryJournal({ logger: silent }));
    const system = ActorSystem.create('gathered', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    systems.push(system);
    const writers = Array.from({ length: 200 }, (_, i) => system.actorOf(() => new Writer(String(i)), `w${i}`));
    await Promise.all(writers.map((writer) => writer.ask('write'))); // recovered and warm
    const before = journal.calls.writeMessages;
    const replies = await Promise.all(writers.map((writer) => writer.ask('write')));
    expect(replies).toEqual(writers.map(() => 'stored'));
    const calls = journal.calls.writeMessages - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(20);
    expect(await journal.events('writer-7')).toEqual([{ type: 'written' }, { type: 'written' }]);
  });

  it("stops only the actor whose write failed, though its neighbours' writes were in the same call", async () => {
    const journal = new TestJournal(inMemoryJournal({ logger: silent }));
    const system = ActorSystem.create('gathered-failure', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    systems.push(system);
    const writers = Array.from({ length: 20 }, (_, i) => system.actorOf(() => new Writer(String(i)), `w${i}`));
    await Promise.all(writers.map((writer) => writer.ask('write')));
    let watcher: Watcher | undefined;
    const watching = system.actorOf(() => (watcher = new Watcher()));
    for (const writer of writers) watching.tell(writer);
    journal.failWrites({ persistenceId: 'writer-3' });
    const outcomes = await Promise.allSettled(writers.map((writer) => writer.ask('write', 500)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(19);
    expect(outcomes[3]!.status).toBe('rejected');
    await expect.poll(() => watcher!.stopped).toEqual(['w3']);
    expect(await journal.events('writer-4')).toHaveLength(2);
    expect(await journal.events('writer-3')).toHaveLength(1);
  });
});
