import type { ActorRef } from './actor-ref.js';

/**
 * What a parent does with a child that failed while handling a message:
 * - `restart`: a fresh instance from the child's factory (the failing message is dropped and logged);
 * - `resume`: keep the instance and its state, drop the message;
 * - `stop`: stop the child (watchers get Terminated);
 * - `escalate`: fail the parent itself with the same error, for the grandparent to decide.
 */
export type Directive = 'restart' | 'resume' | 'stop' | 'escalate';

export interface SupervisorStrategy {
  decide(error: unknown, child: ActorRef): Directive;
  /**
   * Restarts allowed within `withinMs` before the child is stopped instead (Akka's maxNrOfRetries /
   * withinTimeRange). Undefined: no limit.
   */
  readonly maxRestarts?: number;
  readonly withinMs?: number;
}

export interface OneForOneOptions {
  decide?: (error: unknown, child: ActorRef) => Directive;
  maxRestarts?: number;
  withinMs?: number;
}

/** Decides for the failing child alone (Akka's OneForOneStrategy). */
export function oneForOneStrategy(options: OneForOneOptions = {}): SupervisorStrategy {
  return {
    decide: options.decide ?? (() => 'restart'),
    ...(options.maxRestarts !== undefined ? { maxRestarts: options.maxRestarts } : {}),
    ...(options.withinMs !== undefined ? { withinMs: options.withinMs } : {}),
  };
}

/** Restart on any failure, without limit: Akka's default. */
export const defaultSupervisorStrategy: SupervisorStrategy = oneForOneStrategy();

export const stoppingSupervisorStrategy: SupervisorStrategy = oneForOneStrategy({ decide: () => 'stop' });
