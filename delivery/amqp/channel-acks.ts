/**
 * The acks of one consume channel, sent at the end of the turn in which their messages settled: the
 * longest prefix of delivered messages that are all done goes as one `multiple` ack, anything done past
 * a gap (a message still being handled, e.g. retrying with backoff) is acked on its own, so a slow
 * message never holds back the prefetch window. One journal write settles dozens of messages at once;
 * under load one ack frame then covers them instead of one frame each, for the broker and for us.
 *
 * A multiple ack must name a tag the broker still holds unacked (RabbitMQ closes the channel with
 * PRECONDITION_FAILED otherwise), so a tag acked on its own is skipped, never named, when the prefix
 * reaches it later.
 */
import type { Channel, Message } from 'amqplib';

/** Messages acked on their own behind a stuck one before this channel gives up on multiple acks. */
const MAX_ACKED_ALONE = 4096;

export class ChannelAcks {
  /** Delivery tags in delivery order, from `#head` on not covered by a multiple ack yet. */
  #tags: number[] = [];
  #head = 0;
  /** Done, ack not sent yet. */
  readonly #settled = new Set<number>();
  /** Acked on their own past a gap; skipped when the prefix reaches them. */
  readonly #ackedAlone = new Set<number>();
  #scheduled = false;
  /** A message stuck at the head for long: every ack goes on its own from then on (bounded memory). */
  #oneByOne = false;

  constructor(private readonly channel: Channel) {}

  /** Called for every message the channel delivers, in delivery order. */
  delivered(message: Message): void {
    if (!this.#oneByOne) this.#tags.push(message.fields.deliveryTag);
  }

  /** The message is done: ack it at the end of this turn. */
  settle(message: Message): void {
    if (this.#oneByOne) {
      this.#ack(message.fields.deliveryTag, false);
      return;
    }
    this.#settled.add(message.fields.deliveryTag);
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    let upTo: number | undefined;
    while (this.#head < this.#tags.length) {
      const tag = this.#tags[this.#head]!;
      if (this.#settled.delete(tag)) upTo = tag;
      else if (!this.#ackedAlone.delete(tag)) break;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#tags.length) {
      this.#tags = this.#tags.slice(this.#head);
      this.#head = 0;
    }
    if (upTo !== undefined) this.#ack(upTo, true);
    for (const tag of this.#settled) {
      this.#ack(tag, false);
      this.#ackedAlone.add(tag);
    }
    this.#settled.clear();
    if (this.#ackedAlone.size > MAX_ACKED_ALONE) {
      this.#oneByOne = true;
      this.#tags = [];
      this.#head = 0;
      this.#ackedAlone.clear();
    }
  };

  #ack(deliveryTag: number, multiple: boolean): void {
    try {
      // amqplib reads only the delivery tag of the message it is given.
      this.channel.ack({ fields: { deliveryTag } } as Message, multiple);
    } catch {
      // The channel closed meanwhile: its unacked messages are redelivered (and deduplicated).
    }
  }
}
