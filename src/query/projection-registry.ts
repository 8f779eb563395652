/**
 * The projections started in one actor system, by name: what keeps one name from running twice in a
 * system, and what operators read (`projectionFigures`, e.g. for the service's `/metrics`). It lives
 * here, beside the projections, so that anything above (the service, a user's own metrics) can read it
 * without the read side knowing who asks.
 *
 * A projection stopped by `stop()` (or with its system) leaves the registry; one that failed stays,
 * `stopped`, with its last offset, so that a lag alert keeps firing after a crash of its handler, until
 * a projection of that name starts again.
 */
import type { ActorSystem } from '../actor/actor-system.js';
import { InvalidOptionError } from '../actor/errors.js';
import type { ProjectionHandle } from './projection.js';
import { readJournalOf } from './read-journal-of.js';

/** A projection as operators see it: `lag` is undefined when the store's newest offset could not be read. */
export interface ProjectionFigures {
  readonly name: string;
  readonly state: ProjectionHandle['state'];
  /** The last offset stored. */
  readonly offset: number;
  /** How far `offset` is behind the store's newest event, in offsets (as `ProjectionHandle.lag()`). */
  readonly lag: number | undefined;
}

const registries = new WeakMap<ActorSystem, Map<string, ProjectionHandle>>();

function registryOf(system: ActorSystem): Map<string, ProjectionHandle> {
  let registry = registries.get(system);
  if (registry === undefined) {
    registry = new Map();
    registries.set(system, registry);
  }
  return registry;
}

/** Refuses a name running in the system already (a failed one may start again). */
export function claimProjectionName(system: ActorSystem, name: string): void {
  const existing = registryOf(system).get(name);
  if (existing !== undefined && existing.state !== 'stopped') throw new InvalidOptionError(`a projection named "${name}" is running in this system already`);
}

/** Lists `handle` until it is stopped (`done` resolves); a failed one stays listed until replaced. */
export function registerProjection(system: ActorSystem, handle: ProjectionHandle): void {
  const registry = registryOf(system);
  registry.set(handle.name, handle);
  handle.done.then(
    () => {
      if (registry.get(handle.name) === handle) registry.delete(handle.name);
    },
    () => {},
  );
}

/** The projections of `system` (started, and not stopped by `stop()`), in the order they started. */
export function runningProjections(system: ActorSystem): readonly ProjectionHandle[] {
  return [...(registries.get(system)?.values() ?? [])];
}

/**
 * Offset and lag of every projection of `system`. The store's newest offset is read once for all of
 * them (one statement per call, however many projections run); when that read fails, `lag` is
 * undefined and the offsets are still there.
 */
export async function projectionFigures(system: ActorSystem): Promise<readonly ProjectionFigures[]> {
  const handles = runningProjections(system);
  if (handles.length === 0) return [];
  const highest = await readJournalOf(system)
    .highestOffset()
    .catch(() => undefined);
  return handles.map((handle) => ({
    name: handle.name,
    state: handle.state,
    offset: handle.offset,
    lag: highest === undefined ? undefined : Math.max(0, highest - handle.offset),
  }));
}
