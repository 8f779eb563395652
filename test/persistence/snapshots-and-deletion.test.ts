import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeleteMessagesFailure,
  DeleteMessagesSuccess,
  DeleteSnapshotsSuccess,
  DeleteSnapshotSuccess,
  fileSnapshotStore,
  InvalidDeleteError,
  LoadSnapshotResult,
  RecoveryCompleted,
  SaveSnapshotFailure,
  SaveSnapshotSuccess,
  SnapshotOffer,
  SnapshotSelectionCriteria,
  type ActorRef,
  type ActorSystem,
  type SnapshotStore,
} from '../../src/index.js';
import { FaultySnapshotStore } from './support/faulty-snapshot-store.js';
import { memoryPlugins, Recorder, silentLogger, testSystem } from './support/harness.js';
import { ScriptedActor } from './support/scripted-actor.js';

/**
 * An actor whose commands are requests: numbers are persisted, `{ op }` objects call the snapshot and
 * deletion API. Every persistence reply is recorded, and every recovery message too.
 */
function accountActor(system: ActorSystem, pid: string, replies: Recorder<unknown>, recovered?: Recorder<unknown>): ActorRef {
  let sum = 0;
  return system.actorOf(
    () =>
      new ScriptedActor(pid, {
        recover(_actor, message) {
          if (message instanceof SnapshotOffer) sum = (message.snapshot as { sum: number }).sum;
          else if (!(message instanceof RecoveryCompleted)) sum += message as number;
          recovered?.push(message instanceof SnapshotOffer ? { offer: message.metadata.sequenceNr, snapshot: message.snapshot } : message);
        },
        command(actor, command) {
          if (typeof command === 'number') {
            void actor.persist(command, (event) => {
              sum += event as number;
              actor.sender.tell(actor.lastSequenceNr);
            });
            return;
          }
          const request = command as { op?: string; arg?: unknown };
          switch (request.op) {
            case 'save':
              actor.saveSnapshot(request.arg ?? { sum });
              return;
            case 'deleteSnapshot':
              actor.deleteSnapshot(request.arg as number);
              return;
            case 'deleteSnapshots':
              actor.deleteSnapshots(request.arg as SnapshotSelectionCriteria);
              return;
            case 'load':
              actor.loadSnapshot(pid, request.arg as SnapshotSelectionCriteria);
              return;
            case 'deleteMessages':
              actor.deleteMessages(request.arg as number);
              return;
            case 'state':
              actor.sender.tell({ sum, seq: actor.lastSequenceNr, snapshotSeq: actor.snapshotSequenceNr });
              return;
            default:
              replies.push(command);
          }
        },
      }),
  );
}

let tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs = [];
});

describe('snapshots', () => {
  it('saveSnapshot answers SaveSnapshotSuccess with the metadata and the snapshot is offered on recovery (file store)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steadfast-snap-'));
    tempDirs.push(dir);
    const { journal } = memoryPlugins();
    const store = (): SnapshotStore => fileSnapshotStore({ dir, logger: silentLogger });
    const { system } = testSystem({ journal, snapshotStore: store() });
    const replies = new Recorder<unknown>();
    const ref = accountActor(system, 's-1', replies);
    for (const n of [1, 2, 3]) await ref.ask(n);
    const before = Date.now();
    ref.tell({ op: 'save' });
    const [saved] = await replies.waitFor(1);
    expect(saved).toBeInstanceOf(SaveSnapshotSuccess);
    const { metadata } = saved as SaveSnapshotSuccess;
    expect(metadata.persistenceId).toBe('s-1');
    expect(metadata.sequenceNr).toBe(3);
    expect(metadata.timestamp).toBeGreaterThanOrEqual(before - 1);
    expect(await ref.ask(4)).toBe(4);
    await system.terminate();
    expect((await readdir(dir)).length).toBe(1);

    const { system: second } = testSystem({ journal, snapshotStore: store() });
    const recovered = new Recorder<unknown>();
    const ref2 = accountActor(second, 's-1', new Recorder(), recovered);
    await recovered.waitFor(3);
    expect(recovered.values).toEqual([{ offer: 3, snapshot: { sum: 6 } }, 4, RecoveryCompleted.instance]);
    expect(await ref2.ask({ op: 'state' })).toEqual({ sum: 10, seq: 4, snapshotSeq: 4 });
  });

  it('on the bare-library defaults (in-memory journal, file snapshots), a restarted process recovers from the snapshot and persists on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steadfast-snap-'));
    tempDirs.push(dir);
    const store = (): SnapshotStore => fileSnapshotStore({ dir, logger: silentLogger });
    const { system } = testSystem({ journal: memoryPlugins().journal, snapshotStore: store() });
    const replies = new Recorder<unknown>();
    const ref = accountActor(system, 's-restart', replies);
    for (const n of [1, 2, 3]) await ref.ask(n);
    ref.tell({ op: 'save' });
    expect((await replies.waitFor(1))[0]).toBeInstanceOf(SaveSnapshotSuccess);
    expect(await ref.ask(4)).toBe(4); // lost with the process: only the snapshot outlives it
    await system.terminate();

    // A new process: a new, empty in-memory journal; the snapshot files are still there.
    const journal = memoryPlugins().journal;
    const { system: second } = testSystem({ journal, snapshotStore: store() });
    const ref2 = accountActor(second, 's-restart', new Recorder());
    expect(await ref2.ask({ op: 'state' })).toEqual({ sum: 6, seq: 3, snapshotSeq: 3 });
    expect(await ref2.ask(10)).toBe(4); // refused before: the journal saw a write that "left a hole"
    expect(await ref2.ask(20)).toBe(5);
    await second.terminate();

    const { system: third } = testSystem({ journal, snapshotStore: store() });
    const recovered = new Recorder<unknown>();
    const ref3 = accountActor(third, 's-restart', new Recorder(), recovered);
    await recovered.waitFor(4);
    expect(recovered.values).toEqual([{ offer: 3, snapshot: { sum: 6 } }, 10, 20, RecoveryCompleted.instance]);
    expect(await ref3.ask({ op: 'state' })).toEqual({ sum: 36, seq: 5, snapshotSeq: 5 });
  });

  it('a failing store answers SaveSnapshotFailure; a snapshot that cannot be serialized is refused the same way', async () => {
    const plugins = memoryPlugins();
    const store = new FaultySnapshotStore(plugins.snapshotStore);
    const { system } = testSystem({ journal: plugins.journal, snapshotStore: store });
    const replies = new Recorder<unknown>();
    const ref = accountActor(system, 's-2', replies);
    await ref.ask(1);
    store.failSave = new Error('disk full');
    ref.tell({ op: 'save' });
    await replies.waitFor(1);
    expect(replies.values[0]).toBeInstanceOf(SaveSnapshotFailure);
    expect((replies.values[0] as SaveSnapshotFailure).cause.message).toContain('disk full');
    expect((replies.values[0] as SaveSnapshotFailure).metadata.sequenceNr).toBe(1);
    store.failSave = undefined;
    const saves = store.calls.save;
    ref.tell({ op: 'save', arg: { when: new Date() } });
    await replies.waitFor(2);
    expect(replies.values[1]).toBeInstanceOf(SaveSnapshotFailure);
    expect((replies.values[1] as SaveSnapshotFailure).cause.message).toMatch(/Date/);
    expect(store.calls.save).toBe(saves);
    // The actor carries on.
    expect(await ref.ask(2)).toBe(2);
  });

  it('deleteSnapshot, deleteSnapshots(criteria) and loadSnapshot', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const replies = new Recorder<unknown>();
    const ref = accountActor(system, 's-3', replies);
    let expected = 0;
    for (const n of [1, 2, 3, 4, 5]) {
      await ref.ask(n);
      ref.tell({ op: 'save' });
      await replies.waitFor(++expected);
    }
    const load = async (criteria: SnapshotSelectionCriteria): Promise<number | undefined> => {
      ref.tell({ op: 'load', arg: criteria });
      const values = await replies.waitFor(++expected);
      const result = values.at(-1) as LoadSnapshotResult;
      expect(result).toBeInstanceOf(LoadSnapshotResult);
      return result.snapshot?.metadata.sequenceNr;
    };
    expect(await load(SnapshotSelectionCriteria.latest)).toBe(5);
    expect(await load(new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBe(3);
    expect(await load(new SnapshotSelectionCriteria({ minSequenceNr: 6 }))).toBeUndefined();

    ref.tell({ op: 'deleteSnapshot', arg: 5 });
    expect((await replies.waitFor(++expected)).at(-1)).toBeInstanceOf(DeleteSnapshotSuccess);
    expect(await load(SnapshotSelectionCriteria.latest)).toBe(4);

    const criteria = new SnapshotSelectionCriteria({ minSequenceNr: 2, maxSequenceNr: 3 });
    ref.tell({ op: 'deleteSnapshots', arg: criteria });
    const deleted = (await replies.waitFor(++expected)).at(-1) as DeleteSnapshotsSuccess;
    expect(deleted).toBeInstanceOf(DeleteSnapshotsSuccess);
    expect(deleted.criteria).toBe(criteria);
    expect(await load(new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBe(1);
    expect(await load(SnapshotSelectionCriteria.latest)).toBe(4);

    // Timestamps select too: nothing was saved before the epoch's first second.
    expect(await load(new SnapshotSelectionCriteria({ maxTimestamp: 1000 }))).toBeUndefined();
  });
});

describe('deleteMessages', () => {
  it('answers DeleteMessagesSuccess; the highest sequence number survives, so a new incarnation continues numbering', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const replies = new Recorder<unknown>();
    const ref = accountActor(system, 'd-1', replies);
    for (const n of [1, 2, 3]) await ref.ask(n);
    ref.tell({ op: 'deleteMessages', arg: 2 });
    const [partial] = await replies.waitFor(1);
    expect(partial).toBeInstanceOf(DeleteMessagesSuccess);
    expect((partial as DeleteMessagesSuccess).toSequenceNr).toBe(2);
    ref.tell({ op: 'deleteMessages', arg: Number.MAX_SAFE_INTEGER });
    const all = (await replies.waitFor(2))[1] as DeleteMessagesSuccess;
    expect(all).toBeInstanceOf(DeleteMessagesSuccess);
    expect(all.toSequenceNr).toBe(3);
    await system.terminate();

    const { system: second } = testSystem(plugins);
    const recovered = new Recorder<unknown>();
    const ref2 = accountActor(second, 'd-1', new Recorder(), recovered);
    await recovered.waitFor(1);
    expect(recovered.values).toEqual([RecoveryCompleted.instance]);
    expect(await ref2.ask({ op: 'state' })).toEqual({ sum: 0, seq: 3, snapshotSeq: 3 });
    expect(await ref2.ask(10)).toBe(4);
  });

  it('deleting past lastSequenceNr answers DeleteMessagesFailure and deletes nothing', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const replies = new Recorder<unknown>();
    const recovered = new Recorder<unknown>();
    const ref = accountActor(system, 'd-2', replies);
    for (const n of [1, 2]) await ref.ask(n);
    ref.tell({ op: 'deleteMessages', arg: 3 });
    const [failure] = await replies.waitFor(1);
    expect(failure).toBeInstanceOf(DeleteMessagesFailure);
    expect((failure as DeleteMessagesFailure).cause).toBeInstanceOf(InvalidDeleteError);
    expect((failure as DeleteMessagesFailure).toSequenceNr).toBe(3);
    await system.terminate();
    const { system: second } = testSystem(plugins);
    accountActor(second, 'd-2', new Recorder(), recovered);
    expect(await recovered.waitFor(3)).toEqual([1, 2, RecoveryCompleted.instance]);
  });
});
