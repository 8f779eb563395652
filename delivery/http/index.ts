/**
 * The HTTP bridge: `httpTransport` delivers to HTTP endpoints; a 2xx answer confirms.
 * Register it with `ActorSystem.create(name, { transports: [httpTransport()] })`, then deliver to
 * `{ transport: 'http', url, method?, headers? }` (or `httpDestination(url)`).
 */
export { httpTransport, HttpTransport, HEADER_ATTEMPT, HEADER_DELIVERY_ID, HEADER_IDEMPOTENCY_KEY, HEADER_SENDER } from './transport.js';
export { httpDestination, resolveHttpDestination, type HttpDestination, type HttpMethod, type ResolvedHttpDestination } from './destination.js';
export type { HttpTransportOptions } from './options.js';
export { DestinationNotAllowedError, HttpNetworkError, HttpStatusError, HttpTimeoutError, HttpTransportClosedError } from './errors.js';
export { HttpDestinationPolicy, refusedAddressReason } from './allowed-hosts.js';
