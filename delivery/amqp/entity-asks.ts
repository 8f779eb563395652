/**
 * The asking side of `amqpEntities`: one exclusive, server-named reply queue per process (it vanishes
 * with the connection, so nothing is left behind by a crash) and the asks waiting on it, matched by
 * correlation id. After a reconnect the queue has another name: asks that were waiting on the old one
 * time out (their command is still applied exactly once; only the answer is lost).
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { AskTimeoutError } from '../../src/actor/errors.js';
import type { JsonValue } from '../transport.js';
import type { AmqpConnectionManager, ManagedChannel } from './connection-manager.js';
import { AmqpUnavailableError } from './errors.js';

interface Waiting {
  readonly resolve: (value: JsonValue) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class EntityAsks {
  readonly #managed: ManagedChannel<Channel>;
  readonly #waiting = new Map<string, Waiting>();
  #queue: string | undefined;
  #next = 0;

  constructor(manager: AmqpConnectionManager, name: string) {
    this.#managed = manager.createChannel({
      name: `asks ${name}`,
      setup: async (channel) => {
        const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        await channel.consume(queue, (message) => this.#handle(message), { noAck: true });
        this.#queue = queue;
      },
    });
    this.#managed.onClose(() => {
      this.#queue = undefined;
    });
  }

  whenReady(timeoutMs: number): Promise<unknown> {
    return this.#managed.whenOpen(timeoutMs);
  }

  /** The reply queue now, or a rejection when the channel is down (the ask fails fast, like a tell). */
  replyQueue(): string {
    if (this.#queue === undefined) throw new AmqpUnavailableError('the ask reply queue');
    return this.#queue;
  }

  /** Registers an ask; `publish` sends it with the correlation id. Resolves with the entity's answer. */
  wait(path: string, timeoutMs: number, publish: (correlationId: string) => Promise<void>): Promise<JsonValue> {
    const correlationId = `ask-${++this.#next}`;
    const answer = new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(new AskTimeoutError(path, timeoutMs));
      }, timeoutMs);
      this.#waiting.set(correlationId, { resolve, reject, timer });
    });
    publish(correlationId).catch((error: unknown) => {
      const waiting = this.#waiting.get(correlationId);
      if (waiting === undefined) return;
      this.#waiting.delete(correlationId);
      clearTimeout(waiting.timer);
      waiting.reject(error as Error);
    });
    return answer;
  }

  async close(): Promise<void> {
    for (const [id, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new AmqpUnavailableError(`ask ${id}: the region stopped`));
    }
    this.#waiting.clear();
    await this.#managed.close();
  }

  #handle(message: ConsumeMessage | null): void {
    if (message === null) return;
    const id = message.properties.correlationId as unknown;
    if (typeof id !== 'string') return;
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return; // timed out, or a second answer to a redelivered ask
    this.#waiting.delete(id);
    clearTimeout(waiting.timer);
    try {
      waiting.resolve(JSON.parse(message.content.toString('utf8')) as JsonValue);
    } catch (error) {
      waiting.reject(error as Error);
    }
  }
}
