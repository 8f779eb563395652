/**
 * The actor runtime: systems, refs, mailboxes, ask, timers, stash, supervision, death watch.
 * Everything else in steadfast builds on this layer; it imports nothing from the layers above.
 */
export { Actor, type ActorFactory, type MessageOf } from './actor.js';
export type { ActorContext, Behavior } from './actor-context.js';
export { isActorRef, type ActorRef } from './actor-ref.js';
export {
  ActorSystem,
  type ActorSelection,
  type ActorSystemOptions,
  type ActorSystemSettings,
  type ExtensionId,
} from './actor-system.js';
export { BackoffSupervisor, backoffDelay, type BackoffOptions } from './backoff-supervisor.js';
export {
  ActorNameTakenError,
  ActorSystemTerminatedError,
  AskTimeoutError,
  InvalidActorNameError,
  InvalidOptionError,
  StashOverflowError,
  SteadfastError,
  type SteadfastErrorCode,
} from './errors.js';
export { DeadLetter, PoisonPill, StatusFailure, Terminated } from './messages.js';
export {
  defaultSupervisorStrategy,
  oneForOneStrategy,
  stoppingSupervisorStrategy,
  type Directive,
  type OneForOneOptions,
  type SupervisorStrategy,
} from './supervision.js';
export type { TimerScheduler } from './timers.js';
