import type { ActorContext } from './actor-context.js';
import { SteadfastError } from './errors.js';

// The cell whose factory is running right now. An actor's constructor picks it up, so `self` and
// `context` work in constructors (as in Akka) without passing them through user code.
let constructing: ActorContext | undefined;

export function constructWith<T>(context: ActorContext, factory: () => T): T {
  const previous = constructing;
  constructing = context;
  try {
    return factory();
  } finally {
    constructing = previous;
  }
}

export function takeConstructingCell(): ActorContext {
  const context = constructing;
  if (!context) {
    throw new SteadfastError('ERR_ACTOR_OUTSIDE_SYSTEM', 'an actor can only be created by actorOf: pass a factory, e.g. system.actorOf(() => new MyActor())');
  }
  // One factory call creates one actor; a nested `new` of another actor inside it must not steal it.
  constructing = undefined;
  return context;
}
