import type { ActorCell } from './actor-cell.js';
import type { Directive, SupervisorStrategy } from './supervision.js';

/** Applies the parent's strategy to a failed child, including its restart budget. */
export function decideForChild(parent: ActorCell, child: ActorCell, error: unknown): Directive {
  let strategy: SupervisorStrategy;
  let directive: Directive;
  try {
    // The strategy is user code (often a getter): if reading it throws, that must not escape into the dispatcher.
    strategy = parent.parentCell ? parent.actor.supervisorStrategy : parent.system.settings.guardianSupervisorStrategy;
    directive = strategy.decide(error, child.self);
  } catch (decideError) {
    parent.log.error({ err: decideError }, `supervisor strategy threw while deciding for ${child.path}; stopping it`);
    return 'stop';
  }
  if (directive !== 'restart' || strategy.maxRestarts === undefined) return directive;
  const now = performance.now();
  const window = strategy.withinMs ?? Number.POSITIVE_INFINITY;
  const recent = child.restartTimestamps.filter((at) => now - at <= window);
  if (recent.length >= strategy.maxRestarts) {
    parent.log.warn(`${child.path} failed ${recent.length + 1} times within ${window} ms; stopping it`);
    return 'stop';
  }
  recent.push(now);
  child.restartTimestamps.length = 0;
  child.restartTimestamps.push(...recent);
  return 'restart';
}
