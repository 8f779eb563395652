/**
 * One event as a query yields it (Akka's EventEnvelope): deserialized and passed through the event
 * adapters. `offset` is exclusive for resuming: a query started with it yields strictly later events.
 */
export class EventEnvelope<Event = unknown> {
  constructor(
    readonly offset: number,
    readonly persistenceId: string,
    readonly sequenceNr: number,
    readonly event: Event,
    readonly timestamp: number,
    readonly tags: readonly string[],
  ) {}
}
