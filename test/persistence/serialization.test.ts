import { describe, expect, it } from 'vitest';
import { RecoveryCompleted, Tagged, type EventAdapter, type Manifest, type Serializer } from '../../src/index.js';
import { storedEvents } from './support/stored-events.js';
import { memoryPlugins, Recorder, testSystem, type TestSystemOptions } from './support/harness.js';
import { ScriptedActor } from './support/scripted-actor.js';

type Plugins = ReturnType<typeof memoryPlugins>;

/** Persists each command through a first system and terminates it. */
async function persistAll(plugins: Plugins, pid: string, events: unknown[], options: TestSystemOptions = {}): Promise<void> {
  const { system } = testSystem({ ...options, ...plugins });
  const ref = system.actorOf(() => new ScriptedActor(pid, { command: (actor, command) => void actor.persist(command, () => actor.sender.tell('ok')) }));
  for (const event of events) expect(await ref.ask(event)).toBe('ok');
  await system.terminate();
}

async function recoverAll(plugins: Plugins, pid: string, options: TestSystemOptions = {}): Promise<unknown[]> {
  const { system } = testSystem({ ...options, ...plugins });
  const recovered = new Recorder<unknown>();
  const done = new Recorder<unknown>();
  system.actorOf(
    () =>
      new ScriptedActor(pid, {
        recover: (_actor, message) => (message instanceof RecoveryCompleted ? done.push(message) : recovered.push(message)),
      }),
  );
  await done.waitFor(1);
  return recovered.values;
}

describe('serialization', () => {
  it('stores JSON with the manifest `type@version` (schemaVersions), and reads it back', async () => {
    const plugins = memoryPlugins();
    const options = { persistence: { schemaVersions: { Deposited: 3 } } };
    await persistAll(plugins, 'ser-1', [{ type: 'Deposited', amount: 5 }, { type: 'Withdrawn', amount: 2 }, 'plain', [1, 2]], options);
    const stored = await storedEvents(plugins.journal, 'ser-1');
    expect(stored.map((event) => [event.serializerId, event.manifest, event.payload])).toEqual([
      ['json', 'Deposited@3', '{"type":"Deposited","amount":5}'],
      ['json', 'Withdrawn@1', '{"type":"Withdrawn","amount":2}'],
      ['json', 'string@1', '"plain"'],
      ['json', 'array@1', '[1,2]'],
    ]);
    expect(stored.map((event) => event.sequenceNr)).toEqual([1, 2, 3, 4]);
    expect(new Set(stored.map((event) => event.writerUuid)).size).toBe(1);
    expect(await recoverAll(plugins, 'ser-1', options)).toEqual([{ type: 'Deposited', amount: 5 }, { type: 'Withdrawn', amount: 2 }, 'plain', [1, 2]]);
  });

  it('a user serializer stores a binary payload and reads it back (class instances through their own serializer)', async () => {
    class Money {
      constructor(
        readonly cents: bigint,
        readonly currency: string,
      ) {}
    }
    const moneySerializer: Serializer = {
      id: 'money-v1',
      canSerialize: (value) => value instanceof Money,
      serialize(value) {
        const money = value as Money;
        const bytes = new Uint8Array(8 + 3);
        new DataView(bytes.buffer).setBigInt64(0, money.cents);
        bytes.set(new TextEncoder().encode(money.currency), 8);
        return { manifest: 'Money@1', payload: bytes };
      },
      deserialize(payload) {
        const bytes = payload as Uint8Array;
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        return new Money(view.getBigInt64(0), new TextDecoder().decode(bytes.subarray(8)));
      },
    };
    const plugins = memoryPlugins();
    const options = { persistence: { serializers: [moneySerializer] } };
    await persistAll(plugins, 'ser-2', [new Money(12345678901234n, 'EUR'), { type: 'note' }], options);
    const stored = await storedEvents(plugins.journal, 'ser-2');
    expect(stored[0]!.serializerId).toBe('money-v1');
    expect(stored[0]!.manifest).toBe('Money@1');
    expect(stored[0]!.payload).toBeInstanceOf(Uint8Array);
    expect(stored[1]!.serializerId).toBe('json');
    const recovered = await recoverAll(plugins, 'ser-2', options);
    expect(recovered[0]).toBeInstanceOf(Money);
    expect(recovered[0]).toEqual(new Money(12345678901234n, 'EUR'));
    expect(recovered[1]).toEqual({ type: 'note' });
  });
});

describe('event adapters and tags', () => {
  it('upcasts v1 events to v2 on replay, using the stored manifest', async () => {
    const plugins = memoryPlugins();
    // Written when Deposited was at version 1 with a field `amount` in whole units.
    await persistAll(plugins, 'up', [{ type: 'Deposited', amount: 5 }], { persistence: { schemaVersions: { Deposited: 1 } } });
    const upcaster: EventAdapter = {
      fromJournal(event: unknown, manifest: Manifest) {
        if (manifest.typeName === 'Deposited' && manifest.version === 1) {
          return { type: 'Deposited', cents: (event as { amount: number }).amount * 100 };
        }
        return event;
      },
    };
    const v2 = { persistence: { schemaVersions: { Deposited: 2 }, eventAdapters: [upcaster] } };
    // Version 2 is written as such and left alone on replay.
    await persistAll(plugins, 'up', [{ type: 'Deposited', cents: 250 }], v2);
    expect((await storedEvents(plugins.journal, 'up')).map((event) => event.manifest)).toEqual(['Deposited@1', 'Deposited@2']);
    expect(await recoverAll(plugins, 'up', v2)).toEqual([
      { type: 'Deposited', cents: 500 },
      { type: 'Deposited', cents: 250 },
    ]);
  });

  it('an adapter can split one stored event into several or drop it', async () => {
    const plugins = memoryPlugins();
    await persistAll(plugins, 'split', [{ type: 'Batch', items: [1, 2, 3] }, { type: 'Obsolete' }, { type: 'Kept' }]);
    const adapter: EventAdapter = {
      fromJournal(event: unknown) {
        const typed = event as { type: string; items?: number[] };
        if (typed.type === 'Batch') return typed.items!.map((item) => ({ type: 'Item', item }));
        if (typed.type === 'Obsolete') return [];
        return event;
      },
    };
    expect(await recoverAll(plugins, 'split', { persistence: { eventAdapters: [adapter] } })).toEqual([
      { type: 'Item', item: 1 },
      { type: 'Item', item: 2 },
      { type: 'Item', item: 3 },
      { type: 'Kept' },
    ]);
  });

  it('tags are stored via Tagged and via an adapter; the handler receives what was persisted', async () => {
    const plugins = memoryPlugins();
    const tagger: EventAdapter = {
      toJournal: (event) => ((event as { type?: string }).type === 'Order' ? new Tagged(event, ['orders']) : event),
    };
    const { system } = testSystem({ ...plugins, persistence: { eventAdapters: [tagger] } });
    const handled = new Recorder<unknown>();
    const ref = system.actorOf(
      () =>
        new ScriptedActor('tags', {
          command: (actor, command) =>
            void actor.persist(command, (event) => {
              handled.push(event);
              actor.sender.tell('ok');
            }),
        }),
    );
    await ref.ask(new Tagged({ type: 'Payment', amount: 1 }, ['payments', 'eu']));
    await ref.ask({ type: 'Order', id: 7 });
    await ref.ask(new Tagged({ type: 'Order', id: 8 }, ['eu']));
    await ref.ask({ type: 'Untagged' });
    const stored = await storedEvents(plugins.journal, 'tags');
    expect(stored.map((event) => [JSON.parse(event.payload as string), [...event.tags].sort()])).toEqual([
      [{ type: 'Payment', amount: 1 }, ['eu', 'payments']],
      [{ type: 'Order', id: 7 }, ['orders']],
      // Adapters see what was persisted: here the Tagged wrapper, which the Order tagger does not match.
      [{ type: 'Order', id: 8 }, ['eu']],
      [{ type: 'Untagged' }, []],
    ]);
    expect(handled.values[0]).toBeInstanceOf(Tagged);
  });
});
