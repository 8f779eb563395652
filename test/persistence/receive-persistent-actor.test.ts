/**
 * The receive-style persistent actor (the seeds' ReceivePersistentActor): handlers registered per
 * class or `type` string, with predicates, tried in registration order; async handlers hold the
 * mailbox; unhandled commands are dead letters with the reason `unhandled`, unhandled persistence
 * replies only a debug line; `become` swaps the command handlers and keeps the recovery handlers.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Actor, type DeadLetter, ReceivePersistentActor, RecoveryCompleted, SaveSnapshotSuccess, SnapshotOffer, type ActorRef } from '../../src/index.js';
import { captureLogs, Deferred, memoryPlugins, Recorder, testSystem } from './support/harness.js';

/** Pushes whatever it receives (a reply address for the actors under test). */
class Collect extends Actor {
  constructor(private readonly into: { push(message: unknown): void }) {
    super();
  }
  receive(message: unknown): void {
    this.into.push(message);
  }
}

class Deposit {
  constructor(readonly amount: number) {}
}
class Snapshot {}
type Command = Deposit | Snapshot | { type: 'withdraw'; amount: number } | { type: 'freeze' } | { type: 'report'; to: ActorRef };
type Event = { type: 'deposited'; amount: number } | { type: 'withdrew'; amount: number } | { type: 'frozen' };

class Account extends ReceivePersistentActor<Command, Event> {
  readonly persistenceId: string;
  balance = 0;
  frozen = false;

  constructor(
    id: string,
    private readonly seen: Recorder<string>,
  ) {
    super();
    this.persistenceId = `account-${id}`;
    this.recover('deposited', (event) => {
      expectTypeOf(event).toEqualTypeOf<{ type: 'deposited'; amount: number }>();
      this.balance += event.amount;
    });
    this.recover('withdrew', (event) => (this.balance -= event.amount));
    this.recover('frozen', () => (this.frozen = true));
    this.recover(SnapshotOffer, (offer) => {
      this.balance = (offer.snapshot as { balance: number }).balance;
      seen.push(`offer ${offer.metadata.sequenceNr}`);
    });
    this.recover(RecoveryCompleted, () => {
      seen.push(`recovered ${this.balance}`);
      // `become` is not journaled: an account that recovers as frozen chooses its handlers again.
      if (this.frozen) this.#freeze();
    });
    this.#open();
  }

  #freeze(): void {
    this.become(() => {
      this.command('report', (cmd) => cmd.to.tell(`frozen at ${this.balance}`));
      this.commandAny((cmd) => this.seen.push(`ignored ${JSON.stringify(cmd)}`));
    });
  }

  #open(): void {
    // Order matters: the large-deposit handler is registered first and wins for amounts over 100.
    this.command(
      Deposit,
      (cmd) => this.seen.push(`refused ${cmd.amount}`),
      (cmd) => cmd.amount > 100,
    );
    this.command(Deposit, async (cmd) => {
      expectTypeOf(cmd).toEqualTypeOf<Deposit>();
      await this.persist({ type: 'deposited', amount: cmd.amount }, (event) => {
        this.balance += event.amount;
      });
      this.seen.push(`deposited ${cmd.amount}`);
    });
    this.command('withdraw', (cmd) => {
      expectTypeOf(cmd).toEqualTypeOf<{ type: 'withdraw'; amount: number }>();
      return this.persist({ type: 'withdrew', amount: cmd.amount }, (event) => {
        this.balance -= event.amount;
      });
    });
    this.command('report', (cmd) => cmd.to.tell(this.balance));
    this.command(Snapshot, () => this.saveSnapshot({ balance: this.balance }));
    this.command('freeze', () =>
      this.persist({ type: 'frozen' }, () => {
        this.frozen = true;
        this.#freeze();
      }),
    );
  }
}

function start(system: ReturnType<typeof testSystem>['system'], seen: Recorder<string>, id = '1') {
  return system.actorOf(() => new Account(id, seen), `account-${id}`);
}

describe('ReceivePersistentActor', () => {
  it('dispatches by class and by type string, checks predicates in registration order, and waits for async handlers', async () => {
    const { system } = testSystem();
    const seen = new Recorder<string>();
    const account = start(system, seen);
    const balance = new Recorder<number>();
    const probe = system.actorOf(() => new Collect(balance as Recorder<unknown>), 'probe');
    account.tell(new Deposit(10));
    account.tell(new Deposit(500)); // taken by the first, predicated handler
    account.tell({ type: 'withdraw', amount: 3 });
    account.tell({ type: 'report', to: probe });
    // The report comes after the async deposit and the withdrawal have both persisted.
    expect(await balance.waitFor(1)).toEqual([7]);
    expect(seen.values).toEqual(['recovered 0', 'deposited 10', 'refused 500']);
  });

  it('sends a command no handler takes to dead letters with the reason "unhandled" and goes on', async () => {
    const { system } = testSystem();
    const letters = new Recorder<DeadLetter>();
    system.onDeadLetter((letter) => letters.push(letter));
    const seen = new Recorder<string>();
    const account = start(system, seen);
    account.tell({ type: 'unknown' } as unknown as Command);
    account.tell(new Deposit(1));
    const [letter] = await letters.waitFor(1);
    expect(letter).toMatchObject({ message: { type: 'unknown' }, reason: 'unhandled', recipient: account.path });
    await seen.waitFor(2);
    expect(seen.values).toEqual(['recovered 0', 'deposited 1']);
  });

  it('drops a persistence reply no handler takes with a debug line, not as a dead letter', async () => {
    const logs = captureLogs();
    const { system } = testSystem({ logger: logs.logger });
    let deadLetters = 0;
    system.onDeadLetter(() => deadLetters++);
    const seen = new Recorder<string>();
    const account = start(system, seen);
    account.tell(new Snapshot());
    const line = await logs.waitFor((l) => l.msg === 'persistence reply not handled; dropped');
    expect(line).toMatchObject({ level: 20, reply: SaveSnapshotSuccess.name });
    expect(deadLetters).toBe(0);
  });

  it('become replaces the command handlers; recovery keeps its handlers and the next incarnation starts from the constructor', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const seen = new Recorder<string>();
    const account = start(system, seen);
    const replies = new Recorder<unknown>();
    const probe = system.actorOf(() => new Collect(replies), 'probe');
    account.tell(new Deposit(5));
    account.tell(new Snapshot());
    account.tell({ type: 'withdraw', amount: 2 });
    account.tell({ type: 'freeze' });
    account.tell(new Deposit(7)); // after become: only commandAny takes it
    account.tell({ type: 'report', to: probe });
    expect(await replies.waitFor(1)).toEqual(['frozen at 3']);
    // After `become` only commandAny is left (it also takes the snapshot's reply if that comes late).
    expect(seen.values).toContain('ignored {"amount":7}');
    expect(seen.values).not.toContain('deposited 7');
    await system.terminate();

    // Recovery: snapshot at 1 (balance 5), then the withdrawal and the freeze through the recover handlers.
    const { system: again } = testSystem(plugins);
    const seenAgain = new Recorder<string>();
    const recovered = again.actorOf(() => new Account('1', seenAgain), 'account-1');
    expect(await seenAgain.waitFor(2)).toEqual(['offer 1', 'recovered 3']);
    const repliesAgain = new Recorder<unknown>();
    recovered.tell({ type: 'report', to: again.actorOf(() => new Collect(repliesAgain), 'probe') });
    expect(await repliesAgain.waitFor(1)).toEqual(['frozen at 3']);
  });

  it('rejects an async handler failure like onCommand: the supervisor restarts the actor and it recovers', async () => {
    class Failing extends ReceivePersistentActor<{ type: 'fail' } | { type: 'ping'; to: ActorRef }, never> {
      readonly persistenceId = 'failing';
      constructor(started: Recorder<string>) {
        super();
        started.push('started');
        this.command('fail', async () => {
          await Promise.resolve();
          throw new Error('handler failed');
        });
        this.command('ping', (cmd) => cmd.to.tell('pong'));
      }
    }
    const { system } = testSystem();
    const started = new Recorder<string>();
    const actor = system.actorOf(() => new Failing(started), 'failing');
    actor.tell({ type: 'fail' });
    const pong = new Deferred<unknown>();
    const probe = system.actorOf(() => new Collect({ push: (message: unknown) => pong.resolve(message) }), 'probe');
    await started.waitFor(2);
    actor.tell({ type: 'ping', to: probe });
    expect(await pong.promise).toBe('pong');
  });
});
