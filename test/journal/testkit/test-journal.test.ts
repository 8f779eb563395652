/**
 * TestJournal (steadfast/testkit): faults by predicate as a persistent actor experiences them
 * (a failed write stops it, a rejected one does not, a held one keeps its commands stashed), awaiting
 * stored events, rules that end after `times`, failed replays, and the delivery actors' identity
 * streams left alone by rules that do not name them.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, inMemorySnapshotStore, Outbox, PersistentActor, Terminated, type ActorRef, type PersistenceReply } from '../../../src/index.js';
import { TestJournal, TestJournalFault, TestProbe } from '../../../journal/testkit/index.js';

const silent = pino({ level: 'silent' });
const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()));
});

type Event = { type: 'added'; n: number } | { type: 'bad' };

class Recorder extends PersistentActor<{ add: number } | { bad: true }, Event> {
  readonly persistenceId = 'recorder';
  readonly seen: number[] = [];
  constructor(private readonly reports: ActorRef) {
    super();
  }
  onCommand(command: { add: number } | { bad: true } | PersistenceReply): void {
    if ('add' in command) {
      void this.persist({ type: 'added', n: command.add }, (event) => {
        this.seen.push(event.n);
        this.reports.tell(`stored ${event.n}`);
      });
    } else if ('bad' in command) {
      void this.persist({ type: 'bad' }, () => this.reports.tell('bad stored'));
    }
  }
  onRecover(message: unknown): void {
    if (typeof message === 'object' && message !== null && (message as Event).type === 'added') this.reports.tell(`replayed ${(message as { n: number }).n}`);
  }
  override onRecoveryFailure(cause: Error): void {
    this.reports.tell(`recovery failed: ${cause.message}`);
  }
  override onPersistRejected(cause: Error): void {
    this.reports.tell(`rejected: ${cause.message}`);
  }
  override onPersistFailure(cause: Error): void {
    this.reports.tell(`failed: ${cause.message}`);
  }
}

function start(journal: TestJournal, name = 'test-journal') {
  const system = ActorSystem.create(name, { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
  systems.push(system);
  const reports = TestProbe.create(system, 'reports');
  const actor = system.actorOf(() => new Recorder(reports.ref), 'recorder');
  return { system, reports, actor };
}

describe('TestJournal', () => {
  it('rejects the writes a predicate picks (onPersistRejected, the actor goes on) and stores the rest', async () => {
    const journal = new TestJournal();
    journal.rejectWrites({ when: (event) => (event as Event).type === 'bad' });
    const { reports, actor } = start(journal);
    actor.tell({ bad: true });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('rejected: write rejected (TestJournal rule)');
    actor.tell({ add: 1 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('stored 1');
    expect(await journal.events('recorder')).toEqual([{ type: 'added', n: 1 }]);
  });

  it('fails a write call (onPersistFailure: the actor stops), once with `times: 1`', async () => {
    const journal = new TestJournal();
    const rule = journal.failWrites({ persistenceId: 'recorder', times: 1 }, new TestJournalFault('disk on fire'));
    const { system, reports, actor } = start(journal);
    reports.watch(actor);
    actor.tell({ add: 1 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('failed: disk on fire');
    await reports.expectMsgType(Terminated);
    expect(rule.hits).toBe(1);
    // The rule is used up: a new incarnation writes normally.
    const again = system.actorOf(() => new Recorder(reports.ref), 'recorder-2');
    again.tell({ add: 2 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('stored 2');
  });

  it('holds writes until released, and resolves stored() once the event is in the journal', async () => {
    const journal = new TestJournal();
    const held = journal.holdWrites({ persistenceId: 'recorder' });
    const { reports, actor } = start(journal);
    const stored = journal.stored<Event>((event) => (event as Event).type === 'added');
    actor.tell({ add: 7 });
    await held.reached;
    expect(await journal.events('recorder')).toEqual([]);
    held.release();
    expect(await stored).toEqual({ type: 'added', n: 7 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('stored 7');
  });

  it('fails replays of a persistenceId (recovery fails, the actor stops)', async () => {
    const journal = new TestJournal();
    journal.failReplays({ persistenceId: 'recorder' });
    const { reports, actor } = start(journal);
    reports.watch(actor);
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('recovery failed: replay failed (TestJournal rule)');
    await reports.expectMsgType(Terminated);
    expect(journal.calls.replayMessages).toBeGreaterThanOrEqual(1);
  });

  it('leaves the delivery actors’ identity streams alone unless a rule names them', async () => {
    const journal = new TestJournal();
    journal.failWrites(); // every write of every actor ...
    const system = ActorSystem.create('identity-untouched', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    systems.push(system);
    const outbox = Outbox.start(system);
    // ... yet the outbox recovers (its identity record is written) and answers; its own events fail.
    expect(await outbox.stats()).toMatchObject({ accepted: 0 });
    expect(journal.writes.some((call) => call.some((write) => write.persistenceId.startsWith('@steadfast/')))).toBe(true);
  });

  it('intercepts writes: the interceptor answers for the journal or hands the writes on; removing it restores the journal', async () => {
    const journal = new TestJournal();
    const seen: number[] = [];
    const rule = journal.interceptWrites(async (writes, proceed) => {
      seen.push(writes.length);
      if (seen.length === 1) return writes.map(() => ({ status: 'rejected', cause: new TestJournalFault('refused by the interceptor') }) as const);
      return proceed(writes);
    });
    const { reports, actor } = start(journal);
    actor.tell({ add: 1 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('rejected: refused by the interceptor');
    actor.tell({ add: 2 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('stored 2');
    rule.remove();
    actor.tell({ add: 3 });
    expect(await reports.expectMsg<string>((m) => typeof m === 'string')).toBe('stored 3');
    expect(seen).toEqual([1, 1]);
    expect(await journal.events('recorder')).toEqual([
      { type: 'added', n: 2 },
      { type: 'added', n: 3 },
    ]);
  });

  it('intercepts replays: a replay that breaks after its first events reaches onRecoveryFailure after them; replays are logged', async () => {
    const journal = new TestJournal();
    const first = start(journal, 'writer');
    for (const n of [1, 2, 3]) first.actor.tell({ add: n });
    await first.reports.receiveN(3);
    await first.system.terminate();

    journal.interceptReplays(async (_call, proceed) => {
      await proceed({ toSequenceNr: 2 });
      throw new TestJournalFault('connection reset mid-replay');
    });
    const { reports } = start(journal, 'reader');
    expect(await reports.receiveN(3)).toEqual(['replayed 1', 'replayed 2', 'recovery failed: connection reset mid-replay']);
    expect(journal.replays.filter((call) => call.persistenceId === 'recorder').map((call) => call.fromSequenceNr)).toEqual([1, 1]);
  });
});
