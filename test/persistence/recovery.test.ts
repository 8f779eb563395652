import { describe, expect, it } from 'vitest';
import { Recover, Recovery, RecoveryCompleted, SaveSnapshotSuccess, SnapshotOffer, SnapshotSelectionCriteria, type ActorSystem } from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/test-journal.js';
import { Deferred, memoryPlugins, nextTurn, Recorder, testSystem } from './support/harness.js';
import { ScriptedActor } from './support/scripted-actor.js';

/** Persists `count` numbered events (and snapshots at the given sequence numbers) through a first system. */
async function seed(plugins: ReturnType<typeof memoryPlugins>, pid: string, count: number, snapshotsAt: number[] = []): Promise<void> {
  const { system } = testSystem(plugins);
  const saved = new Recorder<number>();
  let state = 0;
  const ref = system.actorOf(
    () =>
      new ScriptedActor(pid, {
        command(actor, command) {
          if (command instanceof SaveSnapshotSuccess) {
            saved.push(command.metadata.sequenceNr);
            return;
          }
          if (command === 'sync') {
            actor.sender.tell(actor.lastSequenceNr);
            return;
          }
          void actor.persist(command as number, (event) => {
            state += event as number;
            if (snapshotsAt.includes(actor.lastSequenceNr)) actor.saveSnapshot({ sum: state, at: actor.lastSequenceNr });
            actor.sender.tell(actor.lastSequenceNr);
          });
        },
      }),
    'seed',
  );
  for (let n = 1; n <= count; n++) ref.tell(n);
  expect(await ref.ask('sync')).toBe(count);
  await saved.waitFor(snapshotsAt.length);
  await system.terminate();
}

interface Observed {
  messages: unknown[];
  seqs: number[];
  recovering: boolean[];
  snapshotSeqs: number[];
  replaySuccessAt: number | undefined;
}

function recoverWith(system: ActorSystem, pid: string, recovery: Recovery | undefined, done: Deferred<Observed>): ReturnType<ActorSystem['actorOf']> {
  const observed: Observed = { messages: [], seqs: [], recovering: [], snapshotSeqs: [], replaySuccessAt: undefined };
  return system.actorOf(
    () =>
      new ScriptedActor(pid, {
        ...(recovery ? { recovery } : {}),
        recover(actor, message) {
          observed.messages.push(message instanceof SnapshotOffer ? { offer: message.snapshot, seq: message.metadata.sequenceNr } : message);
          observed.seqs.push(actor.lastSequenceNr);
          observed.snapshotSeqs.push(actor.snapshotSequenceNr);
          observed.recovering.push(actor.isRecovering);
          if (message instanceof RecoveryCompleted) done.resolve(observed);
        },
        replaySuccess(actor) {
          observed.replaySuccessAt = observed.messages.length;
          expect(actor.isRecovering).toBe(true);
        },
        command(actor, command) {
          if (command === 'state') actor.sender.tell({ seq: actor.lastSequenceNr, recovering: actor.isRecovering });
          else void actor.persist(command, () => actor.sender.tell(actor.lastSequenceNr));
        },
      }),
  );
}

describe('recovery', () => {
  it('offers the newest snapshot, replays the events after it in order, then RecoveryCompleted', async () => {
    const plugins = memoryPlugins();
    await seed(plugins, 'r', 10, [3, 7]);
    const { system } = testSystem(plugins);
    const done = new Deferred<Observed>();
    const ref = recoverWith(system, 'r', undefined, done);
    const observed = await done.promise;
    expect(observed.messages).toEqual([{ offer: { sum: 28, at: 7 }, seq: 7 }, 8, 9, 10, RecoveryCompleted.instance]);
    expect(observed.seqs).toEqual([7, 8, 9, 10, 10]);
    expect(observed.snapshotSeqs).toEqual([7, 8, 9, 10, 10]);
    expect(observed.recovering).toEqual([true, true, true, true, true]);
    // onReplaySuccess came after the last event and before RecoveryCompleted.
    expect(observed.replaySuccessAt).toBe(4);
    expect(await ref.ask('state')).toEqual({ seq: 10, recovering: false });
    // Numbering continues after the recovered events.
    expect(await ref.ask('next')).toBe(11);
  });

  it('fromSnapshot criteria pick the newest snapshot that matches; SnapshotSelectionCriteria.none replays everything', async () => {
    const plugins = memoryPlugins();
    await seed(plugins, 'r', 10, [3, 7]);
    const { system } = testSystem(plugins);
    const fromOlder = new Deferred<Observed>();
    recoverWith(system, 'r', new Recovery({ fromSnapshot: new SnapshotSelectionCriteria({ maxSequenceNr: 6 }) }), fromOlder);
    expect((await fromOlder.promise).messages).toEqual([{ offer: { sum: 6, at: 3 }, seq: 3 }, 4, 5, 6, 7, 8, 9, 10, RecoveryCompleted.instance]);
    await system.terminate();

    const { system: second } = testSystem(plugins);
    const noSnapshot = new Deferred<Observed>();
    recoverWith(second, 'r', new Recovery({ fromSnapshot: SnapshotSelectionCriteria.none }), noSnapshot);
    expect((await noSnapshot.promise).messages).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, RecoveryCompleted.instance]);
  });

  it('toSequenceNr stops the replay (and limits the snapshot); numbering still continues after the highest stored', async () => {
    const plugins = memoryPlugins();
    await seed(plugins, 'r', 10, [7]);
    const { system } = testSystem(plugins);
    const done = new Deferred<Observed>();
    const ref = recoverWith(system, 'r', new Recovery({ toSequenceNr: 5 }), done);
    const observed = await done.promise;
    // The snapshot at 7 lies beyond toSequenceNr, so it is not offered.
    expect(observed.messages).toEqual([1, 2, 3, 4, 5, RecoveryCompleted.instance]);
    expect(observed.seqs.at(-2)).toBe(5);
    expect(await ref.ask('next')).toBe(11);
  });

  it('replayMax bounds the number of replayed events', async () => {
    const plugins = memoryPlugins();
    await seed(plugins, 'r', 10, [2]);
    const { system } = testSystem(plugins);
    const done = new Deferred<Observed>();
    recoverWith(system, 'r', new Recovery({ replayMax: 3 }), done);
    expect((await done.promise).messages).toEqual([{ offer: { sum: 3, at: 2 }, seq: 2 }, 3, 4, 5, RecoveryCompleted.instance]);
  });

  it('Recovery.none replays nothing (numbering continues); a later Recover message recovers by hand', async () => {
    const plugins = memoryPlugins();
    await seed(plugins, 'r', 4, [2]);
    const { system } = testSystem(plugins);
    const first = new Deferred<Observed>();
    const messages: unknown[] = [];
    const recovered = new Recorder<unknown>();
    const ref = system.actorOf(
      () =>
        new ScriptedActor('r', {
          recovery: Recovery.none,
          recover(actor, message) {
            const entry = message instanceof SnapshotOffer ? { offer: message.metadata.sequenceNr } : message;
            messages.push(entry);
            if (message instanceof RecoveryCompleted) {
              first.resolve({ messages: [...messages], seqs: [actor.lastSequenceNr], recovering: [], snapshotSeqs: [], replaySuccessAt: undefined });
              recovered.push(actor.lastSequenceNr);
            }
          },
          command(actor, command) {
            if (command === 'state') actor.sender.tell({ seq: actor.lastSequenceNr, recovering: actor.isRecovering });
          },
        }),
    );
    const observed = await first.promise;
    expect(observed.messages).toEqual([RecoveryCompleted.instance]);
    expect(await ref.ask('state')).toEqual({ seq: 4, recovering: false });
    messages.length = 0;
    ref.tell(new Recover());
    await recovered.waitFor(2);
    expect(messages).toEqual([{ offer: 2 }, 3, 4, RecoveryCompleted.instance]);
    expect(await ref.ask('state')).toEqual({ seq: 4, recovering: false });
  });

  it('commands sent during recovery are handled after RecoveryCompleted, in arrival order', async () => {
    const plugins = memoryPlugins();
    await seed(plugins, 'r', 3);
    const journal = new TestJournal(plugins.journal);
    const replayStarted = new Deferred();
    const releaseReplay = new Deferred();
    journal.interceptReplays(async (_call, proceed) => {
      replayStarted.resolve();
      await releaseReplay.promise;
      await proceed();
    });
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
    const log = new Recorder<string>();
    const ref = system.actorOf(
      () =>
        new ScriptedActor('r', {
          recover: (_actor, message) => log.push(message instanceof RecoveryCompleted ? 'completed' : `replayed:${message as number}`),
          command: (actor, command) => log.push(`cmd:${command as string}:${actor.isRecovering}`),
        }),
    );
    await replayStarted.promise;
    for (const name of ['a', 'b', 'c']) ref.tell(name);
    await nextTurn();
    expect(log.values).toEqual([]);
    releaseReplay.resolve();
    await log.waitFor(7);
    expect(log.values).toEqual(['replayed:1', 'replayed:2', 'replayed:3', 'completed', 'cmd:a:false', 'cmd:b:false', 'cmd:c:false']);
  });

  it('a restarted actor (handler threw) recovers its events again before handling the next command', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const recoveries = new Recorder<number>();
    let state: number[] = [];
    const ref = system.actorOf(
      () =>
        new ScriptedActor('restart', {
          recover(actor, message) {
            if (message instanceof RecoveryCompleted) recoveries.push(actor.lastSequenceNr);
            else state.push(message as number);
          },
          command(actor, command) {
            if (command === 'boom') throw new Error('boom');
            if (command === 'state') {
              actor.sender.tell({ state, seq: actor.lastSequenceNr });
              return;
            }
            void actor.persist(command as number, (event) => {
              state.push(event as number);
              actor.sender.tell(actor.lastSequenceNr);
            });
          },
        }),
    );
    expect(await ref.ask(1)).toBe(1);
    expect(await ref.ask(2)).toBe(2);
    state = [];
    ref.tell('boom');
    await recoveries.waitFor(2);
    expect(await ref.ask('state')).toEqual({ state: [1, 2], seq: 2 });
    expect(await ref.ask(3)).toBe(3);
  });
});
