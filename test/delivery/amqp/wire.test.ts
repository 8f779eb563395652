/** Reading confirmation replies: both forms, and malformed batches refused whole. */
import type { MessageProperties } from 'amqplib';
import { describe, expect, it } from 'vitest';
import {
  CONFIRMATION_MANIFEST,
  CONFIRMATIONS_MANIFEST,
  HEADER_ATTEMPT,
  HEADER_DELIVERY_ID,
  HEADER_OLDEST_UNCONFIRMED,
  HEADER_REPLY_BATCHES,
  HEADER_SENDER,
  HEADER_TOKEN,
  HEADER_TRACEPARENT,
  HEADER_TRACESTATE,
  confirmationBody,
  confirmationsBody,
  deliveryHeaders,
  parseConfirmations,
} from '../../../delivery/amqp/wire.js';

const properties = (type: string, headers: Record<string, unknown> = {}) => ({ type, headers }) as unknown as MessageProperties;

describe('parseConfirmations', () => {
  it('reads a single reply from its headers, else its body', () => {
    expect(parseConfirmations(properties(CONFIRMATION_MANIFEST, { [HEADER_SENDER]: 's', [HEADER_DELIVERY_ID]: 4 }), Buffer.from('not json'))).toEqual([
      { senderId: 's', deliveryId: 4 },
    ]);
    expect(parseConfirmations(properties(CONFIRMATION_MANIFEST), confirmationBody({ senderId: 't', deliveryId: 5 }))).toEqual([{ senderId: 't', deliveryId: 5 }]);
  });

  it('reads every confirmation of a batched reply, grouped by sender', () => {
    const body = confirmationsBody([
      { senderId: 'a', deliveryIds: [1, 2] },
      { senderId: 'b', deliveryIds: [7] },
    ]);
    expect(parseConfirmations(properties(CONFIRMATIONS_MANIFEST), body)).toEqual([
      { senderId: 'a', deliveryId: 1 },
      { senderId: 'a', deliveryId: 2 },
      { senderId: 'b', deliveryId: 7 },
    ]);
  });

  it('refuses a malformed batch whole instead of confirming part of it', () => {
    const batch = (value: unknown) => parseConfirmations(properties(CONFIRMATIONS_MANIFEST), Buffer.from(JSON.stringify(value)));
    expect(parseConfirmations(properties(CONFIRMATIONS_MANIFEST), Buffer.from('{'))).toBeUndefined();
    expect(batch(null)).toBeUndefined();
    expect(batch({ confirmations: 'a:1' })).toBeUndefined();
    expect(
      batch({
        confirmations: [
          { senderId: 'a', deliveryIds: [1] },
          { senderId: 2, deliveryIds: [3] },
        ],
      }),
    ).toBeUndefined();
    expect(batch({ confirmations: [{ senderId: 'a', deliveryIds: [1, -1] }] })).toBeUndefined();
    expect(batch({ confirmations: [{ senderId: 'a', deliveryIds: [1.5] }] })).toBeUndefined();
    expect(batch({ confirmations: [] })).toEqual([]);
  });
});

describe('deliveryHeaders', () => {
  const delivery = { senderId: 'outbox@abc', deliveryId: 7, attempt: 2, oldestUnconfirmedId: 3, confirmationToken: 'tok', message: {} };

  it('names every header as the HEADER_* constants do, with the attempt as it is', () => {
    expect(deliveryHeaders(delivery)).toStrictEqual({
      [HEADER_SENDER]: 'outbox@abc',
      [HEADER_DELIVERY_ID]: 7,
      [HEADER_ATTEMPT]: 2,
      [HEADER_REPLY_BATCHES]: 1,
      [HEADER_OLDEST_UNCONFIRMED]: 3,
      [HEADER_TOKEN]: 'tok',
    });
  });

  it('adds the trace headers only for an attempt with a trace', () => {
    const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'a=1' };
    expect(deliveryHeaders({ ...delivery, trace })).toMatchObject({ [HEADER_TRACEPARENT]: trace.traceparent, [HEADER_TRACESTATE]: 'a=1', [HEADER_TOKEN]: 'tok' });
    expect(Object.keys(deliveryHeaders(delivery))).not.toContain(HEADER_TRACEPARENT);
  });
});
