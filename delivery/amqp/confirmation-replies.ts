/**
 * The receiving side's confirmation replies. A reply to a sender that reads batches (it sets
 * `x-steadfast-reply-batches`) waits for the end of the current turn of the event loop and leaves with
 * every other confirmation for the same reply queue: one journal write completes dozens of handlers at
 * once, so under load one reply message carries dozens of confirmations, and the broker stores,
 * delivers and acks one message instead of dozens. At low load nothing waits longer than that turn.
 * Other senders get one `steadfast.confirmation` reply per message, as always.
 *
 * Replies are fire and forget: a lost one only means the delivery is sent again, deduplicated by the
 * receiver, and confirmed again.
 */
import type { ConfirmPublisher } from './publisher.js';
import { CONFIRMATION_MANIFEST, CONFIRMATIONS_MANIFEST, CONTENT_TYPE_JSON, HEADER_DELIVERY_ID, HEADER_SENDER, HEADER_TOKEN, confirmationBody, confirmationsBody } from './wire.js';

/** What a reply needs of a handled message (an inbound steadfast message has these fields). */
export interface ConfirmedMessage {
  readonly senderId: string;
  readonly deliveryId: number;
  readonly confirmationToken?: string | undefined;
}

/** Bounds one batched reply's size (~20 bytes per id); a bigger batch leaves as several replies. */
const MAX_IDS_PER_REPLY = 10_000;

export class ConfirmationReplies {
  /** replyTo → senderId → delivery ids and their tokens, in the order their messages were handled. */
  readonly #batches = new Map<string, Map<string, { deliveryIds: number[]; tokens: string[]; anyToken: boolean }>>();
  #count = 0;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly publisher: () => ConfirmPublisher | undefined) {}

  /** One reply now, for a sender that reads only single confirmations (and for any message id scheme). */
  sendOne(replyTo: string, confirmation: ConfirmedMessage & { readonly messageId: string }): void {
    this.#publish(replyTo, confirmationBody({ senderId: confirmation.senderId, deliveryId: confirmation.deliveryId, token: confirmation.confirmationToken }), {
      messageId: `confirm:${confirmation.messageId}`,
      correlationId: confirmation.messageId,
      type: CONFIRMATION_MANIFEST,
      headers: { [HEADER_SENDER]: confirmation.senderId, [HEADER_DELIVERY_ID]: confirmation.deliveryId, [HEADER_TOKEN]: confirmation.confirmationToken },
    });
  }

  /** Joins the batch for `replyTo` that leaves at the end of this turn. */
  add(replyTo: string, confirmation: ConfirmedMessage): void {
    let bySender = this.#batches.get(replyTo);
    if (bySender === undefined) {
      bySender = new Map();
      this.#batches.set(replyTo, bySender);
    }
    const token = confirmation.confirmationToken;
    const group = bySender.get(confirmation.senderId);
    if (group === undefined) {
      bySender.set(confirmation.senderId, { deliveryIds: [confirmation.deliveryId], tokens: [token ?? ''], anyToken: token !== undefined });
    } else {
      group.deliveryIds.push(confirmation.deliveryId);
      group.tokens.push(token ?? '');
      if (token !== undefined) group.anyToken = true;
    }
    if (++this.#count >= MAX_IDS_PER_REPLY) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Sends what is batched now (also before the consumer closes its publisher). */
  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#count = 0;
    for (const [replyTo, bySender] of this.#batches) {
      const groups = [...bySender].map(([senderId, { deliveryIds, tokens, anyToken }]) => (anyToken ? { senderId, deliveryIds, tokens } : { senderId, deliveryIds }));
      this.#publish(replyTo, confirmationsBody(groups), { type: CONFIRMATIONS_MANIFEST });
    }
    this.#batches.clear();
  }

  #publish(replyTo: string, content: Buffer, options: { messageId?: string; correlationId?: string; type: string; headers?: Record<string, unknown> }): void {
    this.publisher()
      ?.publish({ exchange: '', routingKey: replyTo, content, options: { ...options, persistent: true, contentType: CONTENT_TYPE_JSON } })
      .catch(() => {});
  }
}
