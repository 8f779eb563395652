export { EventEnvelope } from './event-envelope.js';
export { isQueryable, type JournalQueries, type OrderedRepr, type QueryableJournal } from '../persistence/journal-queries.js';
export { QueriesNotSupportedError, QueryAbortedError, QueryThrottledError } from './query-errors.js';
export { INTERNAL_STREAM_PREFIX, MAX_SEQUENCE_NR, ReadJournal, type EventDecoder, type QueryOptions, type ReadJournalOptions } from './read-journal.js';
export { readJournalOf } from './read-journal-of.js';
export { ProjectionFailedError, startProjection, type ProjectionBaseOptions, type ProjectionHandle, type ProjectionOptions, type ProjectionRetry } from './projection.js';
export { projectionFigures, runningProjections, type ProjectionFigures } from './projection-registry.js';
