import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorSystem,
  Entities,
  InvalidOptionError,
  Passivate,
  PersistentActor,
  inMemoryJournal,
  inMemorySnapshotStore,
  type AsyncWriteJournal,
  type PersistentRepr,
} from '../../src/index.js';
import { waitUntil } from '../support/eventually.js';

const silent = pino({ level: 'silent' });

function storedEvent(persistenceId: string, value: number): PersistentRepr {
  return {
    persistenceId,
    sequenceNr: value,
    writerUuid: 'test',
    timestamp: 0,
    tags: [],
    serializerId: 'json',
    manifest: 'appended@1',
    payload: JSON.stringify({ type: 'appended', value }),
  };
}

class Append {
  constructor(readonly value: number) {}
}
class Get {
  static readonly instance = new Get();
}
class Sleep {
  static readonly instance = new Sleep();
}
class Stop {
  static readonly instance = new Stop();
}
type Command = Append | Get | Sleep | Stop;
type Appended = { type: 'appended'; value: number };

/** What the entities of one test did: incarnations per id, and how many were alive at most at once. */
class Census {
  alive = 0;
  maxAlive = 0;
  readonly started = new Map<string, number>();

  up(id: string): void {
    this.alive++;
    this.maxAlive = Math.max(this.maxAlive, this.alive);
    this.started.set(id, (this.started.get(id) ?? 0) + 1);
  }

  down(): void {
    this.alive--;
  }
}

/** Appends numbers to a persisted list; `Sleep` asks the region to passivate it (with `Stop`). */
class ListEntity extends PersistentActor<Command, Appended> {
  readonly persistenceId: string;
  values: number[] = [];

  constructor(
    readonly id: string,
    private readonly census: Census,
  ) {
    super();
    this.persistenceId = `list-${id}`;
  }

  override preStart(): void | Promise<void> {
    this.census.up(this.id);
    return super.preStart();
  }

  override postStop(): void | Promise<void> {
    this.census.down();
    return super.postStop();
  }

  async onCommand(command: Command): Promise<void> {
    if (command instanceof Append) {
      await this.persist({ type: 'appended', value: command.value }, (event) => {
        this.values.push(event.value);
        this.sender.tell(this.values.length);
      });
    } else if (command instanceof Get) {
      this.sender.tell([...this.values]);
    } else if (command instanceof Sleep) {
      this.context.parent.tell(new Passivate(Stop.instance), this.self);
    } else if (command instanceof Stop) {
      void this.context.stop(this.self);
    }
  }

  onRecover(event: unknown): void {
    if (typeof event === 'object' && event !== null && (event as Appended).type === 'appended') this.values.push((event as Appended).value);
  }
}

describe('Entities', () => {
  const systems: ActorSystem[] = [];
  afterEach(async () => {
    await Promise.all(systems.splice(0).map((system) => system.terminate()));
  });

  function system(journal: AsyncWriteJournal = inMemoryJournal({ logger: silent })): ActorSystem {
    const created = ActorSystem.create(`entities-${systems.length}`, { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    systems.push(created);
    return created;
  }

  function lists(on: ActorSystem, census: Census, options: { passivateAfterMs?: number; maxActiveEntities?: number } = {}) {
    return Entities.start(on, { typeName: 'lists', entity: (id) => new ListEntity(id, census), stopMessage: Stop.instance, ...options });
  }

  it('creates an entity on its first message, parks it when idle and recovers it on the next one', async () => {
    const census = new Census();
    const region = lists(system(), census, { passivateAfterMs: 50 });
    expect(await region.ask('a', new Append(1))).toBe(1);
    expect(await region.ask('a', new Append(2))).toBe(2);
    await waitUntil('a is passivated', async () => (await region.stats()).alive === 0, 10_000, 20);
    expect(census.alive).toBe(0);
    // Recovered from the journal: the list goes on.
    expect(await region.ask('a', new Append(3))).toBe(3);
    expect(await region.ask('a', Get.instance)).toEqual([1, 2, 3]);
    expect(census.started.get('a')).toBe(2);
  });

  it('never has more than maxActiveEntities alive, stops the least recently used first, and loses nothing', async () => {
    const census = new Census();
    const region = lists(system(), census, { maxActiveEntities: 3 });
    // 20 ids, five rounds, all sent at once: most ids must wait for a place while another one stops.
    const replies: Promise<unknown>[] = [];
    for (let round = 1; round <= 5; round++) for (let id = 0; id < 20; id++) replies.push(region.ask(`id-${id}`, new Append(round), 20_000));
    await Promise.all(replies);
    expect(census.maxAlive).toBeLessThanOrEqual(3);
    for (let id = 0; id < 20; id++) expect(await region.ask(`id-${id}`, Get.instance, 20_000)).toEqual([1, 2, 3, 4, 5]);
    expect((await region.stats()).alive).toBeLessThanOrEqual(3);
    expect(census.maxAlive).toBeLessThanOrEqual(3);
  });

  it('displaces the least recently used entity, not the one used last', async () => {
    const census = new Census();
    const region = lists(system(), census, { maxActiveEntities: 2 });
    await region.ask('a', new Append(1));
    await region.ask('b', new Append(1));
    await region.ask('a', new Append(2)); // b is now the least recently used
    await region.ask('c', new Append(1));
    await region.ask('a', new Append(3));
    expect(census.started.get('a')).toBe(1);
    expect(census.started.get('b')).toBe(1);
    await region.ask('b', Get.instance); // b comes back; c, used before a, makes room
    expect(census.started.get('b')).toBe(2);
    expect(census.started.get('a')).toBe(1);
  });

  it('keeps the messages that arrive while an entity passivates and hands them, in order, to its next incarnation', async () => {
    const census = new Census();
    const region = lists(system(), census);
    await region.ask('p', new Append(0));
    region.tell('p', Sleep.instance);
    const replies = Array.from({ length: 50 }, (_, i) => region.ask('p', new Append(i + 1)));
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(await region.ask('p', Get.instance)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(census.started.get('p')).toBe(2);
  });

  it('StopEntities stops the matching entities for good (answered once they stopped), fails what was kept for them with ERR_ENTITY_STOPPED, and leaves the others alone', async () => {
    const census = new Census();
    const on = system();
    const region = lists(on, census);
    for (const id of ['a1', 'a2', 'b1']) await region.ask(id, new Append(1));
    const stopping = region.stopEntities((id) => id.startsWith('a'));
    // Behind the StopEntities in the region's mailbox: kept for an entity that is stopping for good.
    const late = region.ask('a1', new Append(2));
    expect(await stopping).toBe(2);
    expect(census.alive).toBe(1);
    await expect(late).rejects.toMatchObject({ code: 'ERR_ENTITY_STOPPED', entityId: 'a1' });
    expect(await region.ask('b1', Get.instance)).toEqual([1]);
    expect(census.started.get('b1')).toBe(1);
    // Nothing matched: answered at once. A later message starts the entity again (it recovers).
    expect(await region.stopEntities(() => false)).toBe(0);
    expect(await region.ask('a2', Get.instance)).toEqual([1]);
  });

  it('recovers a burst of cold ids at most maxConcurrentRecoveries at a time', async () => {
    const journal = inMemoryJournal({ logger: silent });
    for (let id = 0; id < 100; id++) {
      await journal.writeMessages([{ persistenceId: `list-cold-${id}`, events: [1, 2, 3].map((value) => storedEvent(`list-cold-${id}`, value)) }]);
    }
    // Each replay takes a few milliseconds here, so recoveries that were not limited would overlap.
    const replays = { current: 0, max: 0 };
    const slow: AsyncWriteJournal = {
      writeMessages: (writes) => journal.writeMessages(writes),
      async replayMessages(persistenceId, from, to, max, onMessage) {
        replays.current++;
        replays.max = Math.max(replays.max, replays.current);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await journal.replayMessages(persistenceId, from, to, max, onMessage);
        } finally {
          replays.current--;
        }
      },
      readHighestSequenceNr: (persistenceId, from) => journal.readHighestSequenceNr(persistenceId, from),
      deleteMessagesTo: (persistenceId, to) => journal.deleteMessagesTo(persistenceId, to),
      close: () => journal.close(),
    };
    const on = ActorSystem.create('entities-burst', { journal: slow, snapshotStore: inMemorySnapshotStore(), logger: silent, persistence: { maxConcurrentRecoveries: 4 } });
    systems.push(on);
    const region = lists(on, new Census());
    const states = await Promise.all(Array.from({ length: 100 }, (_, id) => region.ask(`cold-${id}`, Get.instance, 20_000)));
    expect(states).toEqual(Array.from({ length: 100 }, () => [1, 2, 3]));
    expect(replays.max).toBeGreaterThan(1);
    expect(replays.max).toBeLessThanOrEqual(4);
  });

  it('refuses bad options and ids with ERR_INVALID_OPTION, and a second region of one type', () => {
    const on = system();
    const census = new Census();
    expect(() => Entities.start(on, { typeName: 'bad name', entity: (id) => new ListEntity(id, census) })).toThrow(InvalidOptionError);
    expect(() => Entities.start(on, { typeName: 'x', entity: (id) => new ListEntity(id, census), maxActiveEntities: 0 })).toThrow(/maxActiveEntities/);
    expect(() => Entities.start(on, { typeName: 'x', entity: (id) => new ListEntity(id, census), passivateAfterMs: -1 })).toThrow(/passivateAfterMs/);
    const region = lists(on, census);
    expect(() => region.tell('', Get.instance)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => lists(on, census)).toThrow();
  });
});
