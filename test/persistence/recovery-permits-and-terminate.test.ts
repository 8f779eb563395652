import { describe, expect, it } from 'vitest';
import { ActorSystem, RecoveryCompleted } from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/test-journal.js';
import { storedPayloads } from './support/stored-events.js';
import { Deferred, memoryPlugins, Recorder, silentLogger, testSystem } from './support/harness.js';
import { ScriptedActor } from './support/scripted-actor.js';

describe('maxConcurrentRecoveries', () => {
  it('bounds concurrent replays; waiting actors recover in the order they started', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const replayCount = new Recorder<string>();
    const gates = new Map<string, Deferred>();
    let activeReplays = 0;
    let maxActiveReplays = 0;
    journal.interceptReplays(async (call, proceed) => {
      activeReplays++;
      maxActiveReplays = Math.max(maxActiveReplays, activeReplays);
      const gate = new Deferred();
      gates.set(call.persistenceId, gate);
      replayCount.push(call.persistenceId);
      try {
        await gate.promise;
        await proceed();
      } finally {
        activeReplays--;
      }
    });
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore, persistence: { maxConcurrentRecoveries: 3 } });
    const completed = new Recorder<string>();
    const ids = Array.from({ length: 10 }, (_, i) => `perm-${i}`);
    for (const id of ids) {
      system.actorOf(() => new ScriptedActor(id, { recover: (_actor, message) => message instanceof RecoveryCompleted && completed.push(id) }));
    }
    await replayCount.waitFor(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(activeReplays).toBe(3);
    // Release one at a time, in reverse of arrival among those running: the next waiter still goes in order.
    for (let released = 0; released < ids.length; released++) {
      const running = replayCount.values.filter((id) => !completed.values.includes(id));
      gates.get(running.at(-1)!)!.resolve();
      await completed.waitFor(released + 1);
      if (released + 3 < ids.length) await replayCount.waitFor(released + 4);
      expect(activeReplays).toBeLessThanOrEqual(3);
    }
    expect(maxActiveReplays).toBe(3);
    expect(journal.replays.map((call) => call.persistenceId)).toEqual(ids);
  });
});

describe('terminate', () => {
  it('waits for writes issued before it: the event is stored before terminate() resolves', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const writeIssued = new Deferred();
    let stored = false;
    journal.interceptWrites(async (writes, proceed) => {
      writeIssued.resolve();
      await new Promise((resolve) => setTimeout(resolve, 150));
      const outcomes = await proceed(writes);
      stored = true;
      return outcomes;
    });
    const system = ActorSystem.create('terminate-flush', { journal, snapshotStore: plugins.snapshotStore, logger: silentLogger });
    const ref = system.actorOf(() => new ScriptedActor('slow', { command: (actor, command) => void actor.persist(command, () => undefined) }));
    ref.tell('must survive');
    await writeIssued.promise;
    const closeCallsBefore = journal.calls.close;
    await system.terminate();
    expect(stored).toBe(true);
    expect(journal.calls.close).toBe(closeCallsBefore + 1);
    expect(await storedPayloads(plugins.journal, 'slow')).toEqual(['must survive']);
  });
});
