/**
 * What a storage plugin may use of the read side (beside `src/persistence/spi.ts`): running a projection
 * whose handler stores the offset atomically with its effect, as `postgresProjection` does.
 */
export type { EventEnvelope } from './event-envelope.js';
export { startAtomicProjection, type AtomicBatchHandler, type AtomicBatchSession, type ProjectionBaseOptions, type ProjectionHandle } from './projection.js';
export type { ActorSystem } from '../actor/actor-system.js';
