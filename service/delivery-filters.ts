/**
 * The filters of `GET /deliveries` and `GET /dead-letters` (`?destination=...&status=...`), and the
 * state an in-flight delivery is shown in. They run inside the outbox (ListOptions.where), so a page
 * and its `count` are of the matching deliveries only, and paging stays stable.
 */
import type { DeadLetteredDelivery } from '../delivery/outbox/outbox-protocol.js';
import type { InFlightDelivery } from '../delivery/outbox/outbox.js';
import type { PlainDestination } from '../delivery/destination.js';
import { redactDestination } from '../delivery/redaction.js';
import { BadRequestError } from './errors.js';

/**
 * `waiting`: not sent yet (it goes at once); `sent`: handed to its transport, not confirmed yet;
 * `failing`: the last attempt failed (`lastError`), sent again at `nextAttemptAt`; `exhausted`: out
 * of attempts (DEAD_LETTER_AFTER_ATTEMPTS), about to become a dead letter.
 */
export const IN_FLIGHT_STATES = ['waiting', 'sent', 'failing', 'exhausted'] as const;
export type InFlightState = (typeof IN_FLIGHT_STATES)[number];

const MAX_FILTER_LENGTH = 200;

type Listed = Pick<InFlightDelivery, 'attempt' | 'lastError' | 'exhausted'>;

export function stateOf({ attempt, lastError, exhausted }: Listed): InFlightState {
  if (exhausted) return 'exhausted';
  if (attempt === 0) return 'waiting';
  return lastError === undefined ? 'sent' : 'failing';
}

/** `where` of an in-flight page from the query, or undefined without filters; 400 for a bad one. */
export function inFlightFilter(query: URLSearchParams): ((delivery: InFlightDelivery) => boolean) | undefined {
  const destination = destinationFilter(query);
  const rawStatus = query.get('status');
  let states: Set<string> | undefined;
  if (rawStatus !== null) {
    states = new Set(rawStatus.split(','));
    const unknown = [...states].filter((state) => !(IN_FLIGHT_STATES as readonly string[]).includes(state));
    if (unknown.length > 0 || rawStatus === '') {
      throw new BadRequestError('invalid_status', `status must be one or more of ${IN_FLIGHT_STATES.join(', ')} (comma-separated), got ${JSON.stringify(rawStatus)}`);
    }
  }
  if (destination === undefined && states === undefined) return undefined;
  return (delivery) => (states === undefined || states.has(stateOf(delivery))) && (destination === undefined || destination(delivery.destination));
}

/** `where` of a dead-letter page (destination only: every dead letter has the same status). */
export function deadLetterFilter(query: URLSearchParams): ((deadLetter: DeadLetteredDelivery) => boolean) | undefined {
  if (query.get('status') !== null) throw new BadRequestError('invalid_status', 'dead letters have no status filter (they are all dead-lettered); filter by destination');
  const destination = destinationFilter(query);
  return destination === undefined ? undefined : (deadLetter) => destination(deadLetter.destination);
}

/**
 * `?destination=text`: deliveries whose destination, as the API shows it (redacted), contains the text,
 * ignoring case — its URL, queue, exchange or routing key, or an actor path. Matching the redacted
 * form means a filter cannot be used to guess a secret a URL carries.
 */
function destinationFilter(query: URLSearchParams): ((destination: PlainDestination) => boolean) | undefined {
  const raw = query.get('destination');
  if (raw === null) return undefined;
  if (raw.length === 0 || raw.length > MAX_FILTER_LENGTH) {
    throw new BadRequestError('invalid_destination_filter', `destination must be 1 to ${MAX_FILTER_LENGTH} characters of the destination's URL, queue, exchange or routing key`);
  }
  const needle = raw.toLowerCase();
  return (destination) => shownText(destination).includes(needle);
}

// Deliveries keep their destination object for their lifetime: its text is worked out once.
const shownTexts = new WeakMap<object, string>();

function shownText(destination: PlainDestination): string {
  if (typeof destination === 'string') return destination.toLowerCase();
  let text = shownTexts.get(destination);
  if (text === undefined) {
    const shown = redactDestination(destination) as Record<string, unknown>;
    text = ['url', 'queue', 'exchange', 'routingKey']
      .map((key) => shown[key])
      .filter((value): value is string => typeof value === 'string')
      .join(' ')
      .toLowerCase();
    shownTexts.set(destination, text);
  }
  return text;
}
