/** Cursor pages over lists keyed by delivery id: stable while the list changes between requests. */
import type { OutboxPage } from './outbox-protocol.js';

/** The items with an id above `after`, at most `limit`, in id order. */
export function pageOf<T extends { readonly deliveryId: number }>(items: T[], after: number, limit: number): OutboxPage<T> {
  let sorted = true;
  for (let i = 1; i < items.length && sorted; i++) sorted = items[i - 1]!.deliveryId < items[i]!.deliveryId;
  if (!sorted) items.sort((a, b) => a.deliveryId - b.deliveryId);
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (items[middle]!.deliveryId <= after) low = middle + 1;
    else high = middle;
  }
  const page = items.slice(low, low + limit);
  const more = low + limit < items.length;
  return { total: items.length, items: page, nextAfter: more ? page[page.length - 1]!.deliveryId : undefined };
}
