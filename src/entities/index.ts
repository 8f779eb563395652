export { Entities, EntityRegion } from './entities.js';
export { EntityRegionActor } from './region-actor.js';
export { EntityEnvelope, GetRegionStats, Passivate, type EntityRegionStats } from './passivate.js';
export type { EntitiesOptions } from './entity-options.js';
