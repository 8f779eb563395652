import { describe, expect, it } from 'vitest';
import { type DeadLetter, PersistenceIdTakenError, StashOverflowError, Terminated, Actor, type ActorRef } from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/test-journal.js';
import { captureLogs, Deferred, memoryPlugins, Recorder, testSystem } from './support/harness.js';
import { ScriptedActor } from './support/scripted-actor.js';

/** Dead letters as they come; `waitForMatching(n, match)` resolves once n matching ones arrived. */
class LetterBox extends Recorder<DeadLetter> {
  async waitForMatching(count: number, match: (letter: DeadLetter) => boolean = () => true): Promise<DeadLetter[]> {
    for (let seen = this.values.filter(match).length; seen < count; seen = this.values.filter(match).length) {
      await this.waitFor(this.values.length + (count - seen));
    }
    return this.values.filter(match);
  }
}

describe('one incarnation per persistenceId', () => {
  it('a second live actor with the same persistenceId is refused by actorOf; allowed again once the first stopped', async () => {
    const { system } = testSystem();
    const first = system.actorOf(() => new ScriptedActor('dup', {}), 'first');
    let error: unknown;
    try {
      system.actorOf(() => new ScriptedActor('dup', {}), 'second');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PersistenceIdTakenError);
    expect((error as PersistenceIdTakenError).code).toBe('ERR_PERSISTENCE_ID_TAKEN');
    expect((error as Error).message).toContain('/user/first');
    // No half-made child: the name is still free.
    expect(system.lookup('/user/second')).toBeUndefined();
    await system.stop(first);
    const again = system.actorOf(() => new ScriptedActor('dup', { command: (actor) => actor.sender.tell('alive') }), 'second');
    expect(await again.ask('ping')).toBe('alive');
  });

  it('an actor stopped before it ever started releases its persistenceId', async () => {
    const { system } = testSystem();
    const first = system.actorOf(() => new ScriptedActor('early', {}));
    await system.stop(first);
    const again = system.actorOf(() => new ScriptedActor('early', { command: (actor) => actor.sender.tell('alive') }));
    expect(await again.ask('ping')).toBe('alive');
  });

  it('two systems may each run the persistenceId (the refusal is per system)', () => {
    const plugins = memoryPlugins();
    const a = testSystem(plugins).system;
    const b = testSystem(plugins).system;
    a.actorOf(() => new ScriptedActor('shared', {}));
    expect(() => b.actorOf(() => new ScriptedActor('shared', {}))).not.toThrow();
  });
});

/** An actor whose first command starts a persist that the test holds open; the rest are counted. */
async function floodWhilePersisting(strategy: 'drop' | 'reply', capacity: number, senders: 'tell' | 'ask') {
  const plugins = memoryPlugins();
  const journal = new TestJournal(plugins.journal);
  const gate = new Deferred();
  const writeIssued = new Deferred();
  journal.interceptWrites(async (writes, proceed) => {
    writeIssued.resolve();
    await gate.promise;
    return proceed(writes);
  });
  const logs = captureLogs();
  const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore, logger: logs.logger });
  const handled = new Recorder<number>();
  const starts = new Recorder<number>();
  const deadLetters = new LetterBox();
  system.onDeadLetter((letter) => deadLetters.push(letter));
  const ref = system.actorOf(
    () =>
      new ScriptedActor(
        'flood',
        {
          recover(_actor, _message) {
            starts.push(0);
          },
          command(actor, command) {
            if (command === 'hold') {
              void actor.persist('held', () => undefined);
              return;
            }
            handled.push(command as number);
            actor.sender.tell(command);
          },
        },
        { internalStashCapacity: capacity, internalStashOverflowStrategy: strategy },
      ),
  );
  ref.tell('hold');
  await writeIssued.promise;
  const sent = capacity * 10;
  const asks: Promise<unknown>[] = [];
  for (let i = 0; i < sent; i++) {
    if (senders === 'ask') asks.push(ref.ask(i, 5_000).catch((error: unknown) => error));
    else ref.tell(i);
  }
  return { ref, sent, gate, handled, deadLetters, asks, logs, starts, system };
}

describe('bounded internal stash', () => {
  it("'drop': ten times the capacity sent while a persist is pending; handled + dead letters = sent, in order, no restart", async () => {
    const capacity = 50;
    const run = await floodWhilePersisting('drop', capacity, 'tell');
    const isOverflow = (letter: DeadLetter): boolean => letter.reason.startsWith('internal stash overflow');
    // Every command has reached the actor (and the overflow dead letters) once the flood is handled; a
    // loaded machine may need more than one turn of the event loop for that.
    await run.deadLetters.waitForMatching(run.sent - capacity, isOverflow);
    const overflow = run.deadLetters.values.filter(isOverflow);
    expect(overflow).toHaveLength(run.sent - capacity);
    run.gate.resolve();
    await run.handled.waitFor(capacity);
    // Every command is accounted for: the first `capacity` were held and handled in order, the rest are dead letters.
    expect(run.handled.values).toEqual([...Array(capacity).keys()]);
    expect(overflow.map((letter) => letter.message)).toEqual([...Array(run.sent - capacity).keys()].map((i) => i + capacity));
    expect(run.handled.values.length + overflow.length).toBe(run.sent);
    const warning = await run.logs.waitFor((line) => line.msg.includes('internal stash') && line.level === 40);
    expect(warning).toMatchObject({ persistenceId: 'flood', capacity });
    // Logged once per overflow episode, not once per command.
    expect(run.logs.lines.filter((line) => line.msg.includes('internal stash')).length).toBe(1);
    // Not restarted: recovery ran exactly once.
    expect(run.starts.values).toHaveLength(1);
    expect(await run.ref.ask('after').catch(() => 'no reply')).toBe('after');
  });

  it("'reply': every overflowing ask rejects with StashOverflowError; the rest are answered", async () => {
    const capacity = 20;
    const run = await floodWhilePersisting('reply', capacity, 'ask');
    // Release the write only once the flood was handled (the overflowing asks refused): released
    // earlier, commands still queued on a loaded machine would find no persist in progress.
    const refusedSoFar = new Recorder<unknown>();
    for (const ask of run.asks) void ask.then((result) => result instanceof StashOverflowError && refusedSoFar.push(result));
    await refusedSoFar.waitFor(run.sent - capacity);
    run.gate.resolve();
    const results = await Promise.all(run.asks);
    const answered = results.filter((result) => typeof result === 'number');
    const refused = results.filter((result) => result instanceof StashOverflowError);
    expect(answered).toEqual([...Array(capacity).keys()]);
    expect(refused).toHaveLength(run.sent - capacity);
    expect(answered.length + refused.length).toBe(run.sent);
    expect(run.starts.values).toHaveLength(1);
  });

  it('the capacity bounds commands held during recovery too', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const release = new Deferred();
    journal.interceptReplays(async (_call, proceed) => {
      await release.promise;
      await proceed();
    });
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
    const dropped = new LetterBox();
    system.onDeadLetter((letter) => dropped.push(letter));
    const handled = new Recorder<number>();
    const ref = system.actorOf(() => new ScriptedActor('rec-flood', { command: (_actor, command) => handled.push(command as number) }, { internalStashCapacity: 5 }));
    for (let i = 0; i < 50; i++) ref.tell(i);
    // All 50 arrive while the replay is held: 5 are kept, 45 dropped, before the recovery may finish.
    await dropped.waitForMatching(45);
    release.resolve();
    await handled.waitFor(5);
    expect(handled.values).toEqual([0, 1, 2, 3, 4]);
    expect(dropped.values).toHaveLength(45);
  });

  it('commands held when the actor stops go to dead letters (never lost silently)', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const writeIssued = new Deferred();
    const held = journal.holdWrites();
    void held.reached.then(() => writeIssued.resolve());
    // terminate() waits for in-flight writes, at most the breaker's call timeout: keep it short here.
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore, persistence: { journalCircuitBreaker: { callTimeoutMs: 200 } } });
    const dropped: DeadLetter[] = [];
    system.onDeadLetter((letter) => dropped.push(letter));
    const ref: ActorRef = system.actorOf(() => new ScriptedActor('held', { command: (actor) => void actor.persist('e', () => undefined) }));
    ref.tell('first');
    for (let i = 0; i < 3; i++) ref.tell(i);
    const stopped = new Deferred();
    class Watcher extends Actor {
      override preStart(): void {
        this.context.watch(ref);
      }
      receive(message: unknown): void {
        if (message instanceof Terminated) stopped.resolve();
      }
    }
    system.actorOf(() => new Watcher());
    // 'first' is being persisted (so 0, 1, 2 are held, or still queued behind it): stop it now.
    await writeIssued.promise;
    await system.stop(ref);
    await stopped.promise;
    expect(dropped.map((letter) => letter.message)).toEqual([0, 1, 2]);
  });
});
