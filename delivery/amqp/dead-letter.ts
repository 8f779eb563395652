/**
 * Parking messages in the dead-letter queue: a copy of the original (body, properties, headers) plus
 * why it was parked. The copy is publisher-confirmed before the original is acked, so a message is
 * never in neither place; at worst (crash in between) it is in both.
 */
import type { ConsumeMessage, Options } from 'amqplib';
import type { DeadLetterReason } from './inbound.js';
import type { ConfirmPublisher } from './publisher.js';
import { HEADER_DEAD_LETTER_ERROR, HEADER_DEAD_LETTER_QUEUE, HEADER_DEAD_LETTER_REASON } from './wire.js';

/** Errors can be huge (stack traces, payload dumps); header tables are capped at 64 KiB in amqplib. */
const MAX_ERROR_LENGTH = 1000;

export async function publishDeadLetter(
  publisher: ConfirmPublisher,
  deadLetterQueue: string,
  sourceQueue: string,
  raw: ConsumeMessage,
  reason: DeadLetterReason,
  detail: string,
): Promise<void> {
  const p = raw.properties;
  const headers: Record<string, unknown> = {
    ...((p.headers ?? {}) as Record<string, unknown>),
    [HEADER_DEAD_LETTER_REASON]: reason,
    [HEADER_DEAD_LETTER_ERROR]: detail.length > MAX_ERROR_LENGTH ? `${detail.slice(0, MAX_ERROR_LENGTH)}…` : detail,
    [HEADER_DEAD_LETTER_QUEUE]: sourceQueue,
  };
  await publisher.publish({
    exchange: '',
    routingKey: deadLetterQueue,
    content: raw.content,
    options: republishOptions(raw, headers),
  });
}

/**
 * Options to publish a consumed message again (to the dead-letter queue, or back to its queue with a
 * new count) as the same message: its id, type, reply address and correlation survive, persistent.
 */
export function republishOptions(raw: ConsumeMessage, headers: Record<string, unknown>): Options.Publish {
  const p = raw.properties;
  return {
    ...(typeof p.messageId === 'string' ? { messageId: p.messageId } : {}),
    persistent: true,
    mandatory: true,
    headers,
    ...(p.contentType ? { contentType: p.contentType as string } : {}),
    ...(p.type ? { type: p.type as string } : {}),
    ...(p.replyTo ? { replyTo: p.replyTo as string } : {}),
    ...(p.correlationId ? { correlationId: p.correlationId as string } : {}),
    ...(p.appId ? { appId: p.appId as string } : {}),
  };
}
