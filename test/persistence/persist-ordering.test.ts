import { describe, expect, it } from 'vitest';
import { Actor, type ActorRef } from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/test-journal.js';
import { storedPayloads } from './support/stored-events.js';
import { Deferred, memoryPlugins, nextTurn, Recorder, testSystem } from './support/harness.js';
import { ScriptedActor, type Script } from './support/scripted-actor.js';

/** A journal whose writes wait until the test opens the gate; `issued` sees each write as it arrives. */
function gatedJournal(): { journal: TestJournal; issued: Recorder<number>; gates: Deferred[]; open(index: number): void } {
  const { journal: inner } = memoryPlugins();
  const journal = new TestJournal(inner);
  const issued = new Recorder<number>();
  const gates: Deferred[] = [];
  journal.interceptWrites(async (writes, proceed) => {
    const index = gates.length;
    const gate = new Deferred();
    gates.push(gate);
    issued.push(index);
    await gate.promise;
    return proceed(writes);
  });
  return { journal, issued, gates, open: (index) => gates[index]!.resolve() };
}

function start(script: Script, journal?: TestJournal, pid = 'p-1'): ActorRef {
  const { system } = testSystem(journal ? { journal } : {});
  return system.actorOf(() => new ScriptedActor(pid, script), 'a');
}

describe('persist: handler order and the internal stash', () => {
  it('runs the handlers of several persist calls in one command in order; later commands wait, in arrival order', async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    const ref = start(
      {
        command(actor, command) {
          const name = command as string;
          log.push(`cmd:${name}`);
          void actor.persist(`${name}1`, (event) => log.push(`evt:${event as string}`));
          void actor.persist(`${name}2`, (event) => log.push(`evt:${event as string}`));
        },
      },
      gated.journal,
    );
    ref.tell('a');
    await gated.issued.waitFor(1);
    ref.tell('b');
    ref.tell('c');
    await nextTurn();
    // b and c arrived while a's events were being written: they were held back.
    expect(log.values).toEqual(['cmd:a']);
    gated.open(0);
    await gated.issued.waitFor(2);
    expect(log.values).toEqual(['cmd:a', 'evt:a1', 'evt:a2', 'cmd:b']);
    gated.open(1);
    await gated.issued.waitFor(3);
    gated.open(2);
    await log.waitFor(9);
    expect(log.values).toEqual(['cmd:a', 'evt:a1', 'evt:a2', 'cmd:b', 'evt:b1', 'evt:b2', 'cmd:c', 'evt:c1', 'evt:c2']);
    // The two persist calls of one command went to the journal together, as two atomic writes.
    expect(gated.journal.writes[0]!.map((write) => write.events.map((event) => event.sequenceNr))).toEqual([[1], [2]]);
    expect(await storedPayloads(gated.journal, 'p-1')).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2']);
  });

  it('persistAll runs each handler, then onComplete, then the next command; the events are one atomic write', async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    const ref = start(
      {
        command(actor, command) {
          log.push(`cmd:${command as string}`);
          void actor.persistAll(
            [1, 2, 3].map((n) => `${command as string}${n}`),
            (event) => log.push(`evt:${event as string}`),
            () => log.push(`done:${command as string}`),
          );
        },
      },
      gated.journal,
    );
    ref.tell('a');
    await gated.issued.waitFor(1);
    ref.tell('b');
    await nextTurn();
    expect(log.values).toEqual(['cmd:a']);
    gated.open(0);
    await gated.issued.waitFor(2);
    gated.open(1);
    await log.waitFor(10);
    expect(log.values).toEqual(['cmd:a', 'evt:a1', 'evt:a2', 'evt:a3', 'done:a', 'cmd:b', 'evt:b1', 'evt:b2', 'evt:b3', 'done:b']);
    expect(gated.journal.writes[0]).toHaveLength(1);
    expect(gated.journal.writes[0]![0]!.events.map((event) => event.sequenceNr)).toEqual([1, 2, 3]);
  });

  it('persistAll of an empty array still runs onComplete in order', async () => {
    const log = new Recorder<string>();
    const ref = start({
      command(actor, command) {
        void actor.persist('x', () => log.push('evt:x'));
        void actor.persistAll(
          [],
          () => log.push('never'),
          () => log.push(`done:${command as string}`),
        );
      },
    });
    ref.tell('a');
    await log.waitFor(2);
    expect(log.values).toEqual(['evt:x', 'done:a']);
  });

  it('persistAsync does not hold commands back, and its handlers still run in persist order', async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    const ref = start(
      {
        command(actor, command) {
          log.push(`cmd:${command as string}`);
          void actor.persistAsync(`${command as string}1`, (event) => log.push(`evt:${event as string}`));
          void actor.persistAsync(`${command as string}2`, (event) => log.push(`evt:${event as string}`));
        },
      },
      gated.journal,
    );
    ref.tell('a');
    await gated.issued.waitFor(1);
    ref.tell('b');
    ref.tell('c');
    // Both commands are handled while a's write is still pending.
    await log.waitFor(3);
    expect(log.values).toEqual(['cmd:a', 'cmd:b', 'cmd:c']);
    gated.open(0);
    await gated.issued.waitFor(2);
    gated.open(1);
    await log.waitFor(9);
    expect(log.values).toEqual(['cmd:a', 'cmd:b', 'cmd:c', 'evt:a1', 'evt:a2', 'evt:b1', 'evt:b2', 'evt:c1', 'evt:c2']);
    expect(await storedPayloads(gated.journal, 'p-1')).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2']);
  });

  it('persistAllAsync and deferAsync: handlers after earlier persist handlers, commands not held back', async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    const ref = start(
      {
        command(actor, command) {
          const name = command as string;
          log.push(`cmd:${name}`);
          void actor.persistAllAsync(
            [`${name}1`, `${name}2`],
            (event) => log.push(`evt:${event as string}`),
            () => log.push(`done:${name}`),
          );
          void actor.deferAsync(`${name}-deferred`, (value) => log.push(`defer:${value}`));
        },
      },
      gated.journal,
    );
    ref.tell('a');
    await gated.issued.waitFor(1);
    ref.tell('b');
    await log.waitFor(2);
    expect(log.values).toEqual(['cmd:a', 'cmd:b']);
    gated.open(0);
    await gated.issued.waitFor(2);
    gated.open(1);
    await log.waitFor(10);
    expect(log.values).toEqual(['cmd:a', 'cmd:b', 'evt:a1', 'evt:a2', 'done:a', 'defer:a-deferred', 'evt:b1', 'evt:b2', 'done:b', 'defer:b-deferred']);
  });

  it('deferAsync with nothing pending runs without writing anything', async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    const ref = start({ command: (actor, command) => void actor.deferAsync(command, (value) => log.push(`defer:${value as string}`)) }, gated.journal);
    ref.tell('x');
    ref.tell('y');
    await log.waitFor(2);
    expect(log.values).toEqual(['defer:x', 'defer:y']);
    expect(gated.journal.calls.writeMessages).toBe(0);
  });

  it('defer runs after the persist handlers before it and holds later commands back until it ran', async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    const ref = start(
      {
        command(actor, command) {
          const name = command as string;
          log.push(`cmd:${name}`);
          void actor.persist(`${name}1`, (event) => log.push(`evt:${event as string}`));
          void actor.defer(`${name}-deferred`, (value) => log.push(`defer:${value}`));
        },
      },
      gated.journal,
    );
    ref.tell('a');
    await gated.issued.waitFor(1);
    ref.tell('b');
    await nextTurn();
    expect(log.values).toEqual(['cmd:a']);
    gated.open(0);
    await gated.issued.waitFor(2);
    gated.open(1);
    await log.waitFor(6);
    expect(log.values).toEqual(['cmd:a', 'evt:a1', 'defer:a-deferred', 'cmd:b', 'evt:b1', 'defer:b-deferred']);
  });

  it('a mix of persist and persistAsync in one command keeps the call order of handlers', async () => {
    const log = new Recorder<string>();
    const ref = start({
      command(actor) {
        void actor.persistAsync('1', (event) => log.push(event as string));
        void actor.persist('2', (event) => log.push(event as string));
        void actor.deferAsync('3', (value) => log.push(value));
        void actor.persistAsync('4', (event) => log.push(event as string));
        void actor.defer('5', (value) => log.push(value));
      },
    });
    ref.tell('go');
    await log.waitFor(5);
    expect(log.values).toEqual(['1', '2', '3', '4', '5']);
  });
});

describe('persist: sender and async handlers', () => {
  it('sender inside persist, persistAll onComplete and defer handlers is the sender of the command', async () => {
    const gated = gatedJournal();
    const ref = start(
      {
        command(actor, command) {
          const n = command as number;
          void actor.persistAsync(n, () => actor.sender.tell(`persisted ${n}`));
        },
      },
      gated.journal,
    );
    // Two asks from two different temporary senders, both pending in one write at a time.
    const first = ref.ask<string>(1);
    await gated.issued.waitFor(1);
    const second = ref.ask<string>(2);
    await nextTurn();
    gated.open(0);
    await gated.issued.waitFor(2);
    gated.open(1);
    expect(await Promise.all([first, second])).toEqual(['persisted 1', 'persisted 2']);

    const ref2 = start(
      {
        command(actor, command) {
          void actor.persistAll(
            [command],
            () => undefined,
            () => actor.sender.tell(`complete ${command as string}`),
          );
          void actor.defer(command, () => actor.sender.tell(`deferred ${command as string}`));
        },
      },
      undefined,
      'p-2',
    );
    class Asker extends Actor {
      constructor(private readonly got: Recorder<string>) {
        super();
      }
      override preStart(): void {
        ref2.tell('x', this.self);
      }
      receive(message: unknown): void {
        this.got.push(message as string);
      }
    }
    const got = new Recorder<string>();
    const { system } = testSystem();
    system.actorOf(() => new Asker(got));
    expect(await got.waitFor(2)).toEqual(['complete x', 'deferred x']);
  });

  it('`await this.persist()` in an async onCommand resumes after the handler; the next command waits', async () => {
    const log = new Recorder<string>();
    const ref = start({
      async command(actor, command) {
        const name = command as string;
        log.push(`cmd:${name}`);
        await actor.persist(`${name}1`, (event) => log.push(`evt:${event as string}`));
        log.push(`after:${name}1 seq=${actor.lastSequenceNr}`);
        await actor.persistAll([`${name}2`, `${name}3`], (event) => log.push(`evt:${event as string}`));
        log.push(`after:${name}3 seq=${actor.lastSequenceNr}`);
        actor.sender.tell(`ok ${name}`);
      },
    });
    const replies = await Promise.all([ref.ask('a'), ref.ask('b')]);
    expect(replies).toEqual(['ok a', 'ok b']);
    expect(log.values).toEqual([
      'cmd:a',
      'evt:a1',
      'after:a1 seq=1',
      'evt:a2',
      'evt:a3',
      'after:a3 seq=3',
      'cmd:b',
      'evt:b1',
      'after:b1 seq=4',
      'evt:b2',
      'evt:b3',
      'after:b3 seq=6',
    ]);
  });

  it('an async persist handler is awaited before the next handler and before stashed commands', async () => {
    const log = new Recorder<string>();
    const ref = start({
      command(actor, command) {
        log.push(`cmd:${command as string}`);
        void actor.persist(`${command as string}1`, async (event) => {
          await new Promise((resolve) => setImmediate(resolve));
          log.push(`evt:${event as string}`);
        });
        void actor.persist(`${command as string}2`, (event) => log.push(`evt:${event as string}`));
      },
    });
    ref.tell('a');
    ref.tell('b');
    await log.waitFor(6);
    expect(log.values).toEqual(['cmd:a', 'evt:a1', 'evt:a2', 'cmd:b', 'evt:b1', 'evt:b2']);
  });

  it("the user's own stash works alongside the internal stash (user-stashed commands first, as in Akka)", async () => {
    const gated = gatedJournal();
    const log = new Recorder<string>();
    let locked = false;
    const ref = start(
      {
        command(actor, command) {
          const name = command as string;
          if (name === 'lock') {
            locked = true;
            return;
          }
          if (name === 'unlock') {
            void actor.persist('unlocked', () => {
              locked = false;
              log.push('evt:unlocked');
              actor.context.unstashAll();
            });
            return;
          }
          if (locked) {
            log.push(`stashed:${name}`);
            actor.context.stash();
            return;
          }
          log.push(`cmd:${name}`);
        },
      },
      gated.journal,
    );
    ref.tell('lock');
    ref.tell('x1');
    ref.tell('x2');
    ref.tell('unlock');
    await gated.issued.waitFor(1);
    ref.tell('y1');
    ref.tell('y2');
    await nextTurn();
    expect(log.values).toEqual(['stashed:x1', 'stashed:x2']);
    gated.open(0);
    await log.waitFor(7);
    expect(log.values).toEqual(['stashed:x1', 'stashed:x2', 'evt:unlocked', 'cmd:x1', 'cmd:x2', 'cmd:y1', 'cmd:y2']);
  });
});
