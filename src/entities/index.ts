export { Entities, EntityRegion } from './entities.js';
export { EntityRegionActor } from './region-actor.js';
export { EntitiesStopped, EntityEnvelope, GetRegionStats, Passivate, StopEntities, type EntityRegionStats } from './passivate.js';
export { EntityStoppedError } from './errors.js';
export type { EntitiesOptions } from './entity-options.js';
