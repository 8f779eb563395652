import { describe, expect, it } from 'vitest';
import { Actor, type ActorRef } from '../../src/actor/index.js';
import { Mailbox } from '../../src/actor/mailbox.js';
import { deferred, failOnProcessErrors, testSystem } from './support.js';

failOnProcessErrors();

function takeAll(mailbox: Mailbox): unknown[] {
  const taken: unknown[] = [];
  while (!mailbox.isEmpty) {
    taken.push(mailbox.peekMessage());
    mailbox.dequeue();
  }
  return taken;
}

describe('Mailbox', () => {
  it('is FIFO across its compactions, with each sender kept next to its message', () => {
    const mailbox = new Mailbox();
    const senders = [{ path: 'a' }, { path: 'b' }] as unknown as ActorRef[];
    const seen: number[] = [];
    let next = 0;
    // Interleave enqueues and dequeues so the consumed prefix grows past the compaction threshold.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) mailbox.enqueue(next++, senders[next % 2]);
      for (let i = 0; i < 60; i++) {
        const message = mailbox.peekMessage() as number;
        expect(mailbox.senderOfHead()).toBe(senders[(message + 1) % 2]);
        seen.push(message);
        mailbox.dequeue();
      }
    }
    expect(mailbox.size).toBe(2000);
    seen.push(...(takeAll(mailbox) as number[]));
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(mailbox.isEmpty).toBe(true);
  });

  it('prepend puts envelopes before what is queued, in their order; drain empties it', () => {
    const mailbox = new Mailbox();
    mailbox.enqueue('x', undefined);
    mailbox.enqueue('c', undefined);
    mailbox.dequeue();
    mailbox.prepend([
      { message: 'a', sender: undefined },
      { message: 'b', sender: undefined },
    ]);
    mailbox.enqueue('d', undefined);
    expect(mailbox.drain().map((envelope) => envelope.message)).toEqual(['a', 'b', 'c', 'd']);
    expect(mailbox.isEmpty).toBe(true);
    expect(mailbox.size).toBe(0);
  });
});

describe('tell', () => {
  it('delivers the messages of one sender in the order they were told', async () => {
    const system = testSystem();
    const count = 20_000;
    const done = deferred<number[]>();
    const received: number[] = [];
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          receive(message: unknown): void {
            received.push(message as number);
            if (received.length === count) done.resolve(received);
          }
        })(),
    );
    for (let i = 0; i < count; i++) ref.tell(i);
    expect(await done.promise).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('keeps order for messages an actor sends while handling others (async receives in between)', async () => {
    const system = testSystem();
    const done = deferred<string[]>();
    const received: string[] = [];
    const sink = system.actorOf(
      () =>
        new (class extends Actor {
          async receive(message: unknown): Promise<void> {
            if (received.length % 3 === 0) await Promise.resolve();
            received.push(message as string);
            if (received.length === 300) done.resolve(received);
          }
        })(),
    );
    const relays = ['p', 'q', 'r'].map((prefix) =>
      system.actorOf(
        () =>
          new (class extends Actor {
            async receive(message: unknown): Promise<void> {
              await new Promise((resolve) => setImmediate(resolve));
              sink.tell(`${prefix}${message as number}`);
            }
          })(),
      ),
    );
    for (let i = 0; i < 100; i++) for (const relay of relays) relay.tell(i);
    const all = await done.promise;
    for (const prefix of ['p', 'q', 'r']) {
      expect(all.filter((m) => m.startsWith(prefix))).toEqual(Array.from({ length: 100 }, (_, i) => `${prefix}${i}`));
    }
  });
});
