/**
 * Before: the worker takes each command off the queue and calls the downstream system with it. When
 * the call fails the worker can ack (the command is lost) or requeue (it comes back later, after newer
 * commands: reordering). This one acks, like most. Redelivered duplicates are executed again.
 */
import type { CommandMessage } from './commands.js';
import type { Distribution } from './distribution.js';
import type { CommandSource } from './source.js';

export interface BeforeReport {
  readonly lost: string[];
}

export async function runBefore(source: CommandSource, messages: readonly CommandMessage[], distribution: Distribution): Promise<BeforeReport> {
  const lost: string[] = [];
  await source.consume(messages, async (message) => {
    try {
      distribution.execute(message.mediaSetId, message.change);
    } catch {
      lost.push(`${message.messageId} (${message.change.op} on ${message.mediaSetId})`);
    }
  });
  return { lost };
}
