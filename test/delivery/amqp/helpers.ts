/**
 * Test helpers for the RabbitMQ bridge: a logger that records its lines, a TransportContext that records
 * confirmations, and `Progress`, which turns "wait until X" into an awaited event (re-checked whenever
 * the code under test reports progress) with a deadline, instead of sleeping and hoping.
 */
import { pino, type Logger } from 'pino';
import type amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import type { TransportContext } from '../../../delivery/transport.js';

export interface LogEntry {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A debug-level pino logger that keeps its lines; each line also notifies `progress`, if given. */
export function recordingLogger(progress?: Progress): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const write = (line: string) => {
    entries.push(JSON.parse(line) as LogEntry);
    progress?.notify();
  };
  const logger = pino({ level: 'debug' }, { write });
  return { logger, entries };
}

export class Progress {
  private readonly checks = new Set<() => void>();

  notify(): void {
    for (const check of [...this.checks]) check();
  }

  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.checks.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.checks.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.checks.add(check);
    });
  }
}

export function recordingContext(logger: Logger, progress: Progress): TransportContext & { confirmed: Map<string, number> } {
  const confirmed = new Map<string, number>();
  return {
    confirmed,
    logger,
    confirm(senderId: string, deliveryId: number) {
      const key = `${senderId}:${deliveryId}`;
      confirmed.set(key, (confirmed.get(key) ?? 0) + 1);
      progress.notify();
    },
    // A bare transport has no delivering actor to check tokens: these tests count every reply.
    confirmReceived(senderId: string, deliveryId: number) {
      this.confirm(senderId, deliveryId);
    },
  };
}

/** Collects every message of a queue (e.g. a dead-letter queue) as it arrives. */
export async function collectQueue(connection: amqp.ChannelModel, queue: string, progress: Progress): Promise<ConsumeMessage[]> {
  const messages: ConsumeMessage[] = [];
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  await channel.assertQueue(queue, { durable: true });
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      messages.push(message);
      channel.ack(message);
      progress.notify();
    },
    { noAck: false },
  );
  return messages;
}

export { eventually } from '../../support/eventually.js';
