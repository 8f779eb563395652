/**
 * Two actor systems on one database, each running an actor with the same persistenceId: the second
 * writer of a sequence number is refused through onPersistFailure (and stops), never merged.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ActorSystem, PersistentActor, SequenceNrConflictError, Terminated, Actor, type ActorRef } from '../../../src/index.js';
import { postgresJournal, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { postgresResource } from '../../support/services.js';

const pg = await postgresResource('single_writer');
afterAll(() => pg?.cleanup());

class Account extends PersistentActor<string, { type: 'noted'; by: string }> {
  readonly persistenceId = 'account-1';
  constructor(
    private readonly label: string,
    private readonly onFailure: (cause: Error, sequenceNr: number) => void,
  ) {
    super();
  }
  onCommand(command: unknown): void {
    if (command === 'note') void this.persist({ type: 'noted', by: this.label }, () => this.sender.tell('stored'));
    // Commands wait until recovery completed, so an answer proves the actor recovered.
    else if (command === 'ping') this.sender.tell('pong');
  }
  onRecover(): void {}
  override onPersistFailure(cause: Error, event: unknown, sequenceNr: number): void {
    this.onFailure(cause, sequenceNr);
    super.onPersistFailure(cause, event, sequenceNr);
  }
}

/** Resolves when the watched actor stops. */
class Watcher extends Actor {
  constructor(
    target: ActorRef,
    private readonly stopped: () => void,
  ) {
    super();
    this.context.watch(target);
  }
  receive(message: unknown): void {
    if (message instanceof Terminated) this.stopped();
  }
}

describe.runIf(pg)('PostgreSQL: one writer per persistenceId', () => {
  it("refuses the second system's write of the same sequence number with onPersistFailure", async () => {
    const { connectionString, schema } = pg!;
    const systems = ['a', 'b'].map((name) =>
      ActorSystem.create(`writer-${name}`, {
        journal: postgresJournal({ connectionString, schema }),
        snapshotStore: postgresSnapshotStore({ connectionString, schema }),
      }),
    );
    const failures: { cause: Error; sequenceNr: number }[] = [];
    const [first, second] = systems.map((system, i) =>
      system.actorOf(() => new Account(i === 0 ? 'a' : 'b', (cause, sequenceNr) => failures.push({ cause, sequenceNr })), 'account'),
    ) as [ActorRef, ActorRef];
    // Both recover an empty stream first, so both believe sequence number 1 is theirs.
    expect(await first.ask('ping')).toBe('pong');
    expect(await second.ask('ping')).toBe('pong');
    expect(await first.ask('note')).toBe('stored');
    const stopped = new Promise<void>((resolve) => systems[1]!.actorOf(() => new Watcher(second, resolve)));
    second.tell('note');
    await stopped;
    expect(failures).toHaveLength(1);
    expect(failures[0]!.cause).toBeInstanceOf(SequenceNrConflictError);
    expect(failures[0]!.sequenceNr).toBe(1);
    const { rows } = await pg!.admin.query(`select sequence_nr::int as nr, payload_json as payload from "${schema}".journal where persistence_id = 'account-1'`);
    expect(rows).toEqual([{ nr: 1, payload: { type: 'noted', by: 'a' } }]);
    await Promise.all(systems.map((system) => system.terminate()));
  });
});
