import type { ActorCell } from './actor-cell.js';
import type { ActorRef, InternalActorRef } from './actor-ref.js';

/** The ref of an actor in this process. It stays valid across restarts of the actor. */
export class LocalActorRef<Message = unknown> implements InternalActorRef<Message> {
  constructor(readonly cell: ActorCell) {}

  get path(): string {
    return this.cell.path;
  }

  get name(): string {
    return this.cell.name;
  }

  get isTerminated(): boolean {
    return this.cell.isTerminated;
  }

  tell(message: Message, sender?: ActorRef): void {
    this.cell.deliver(message, sender);
  }

  deliver(message: unknown, sender: ActorRef | undefined): void {
    this.cell.deliver(message, sender);
  }

  ask<Reply = unknown>(message: Message, timeoutMs?: number): Promise<Reply> {
    return this.cell.system.ask<Reply>(this, message, timeoutMs);
  }

  toString(): string {
    return `ActorRef(${this.cell.path})`;
  }

  toJSON(): string {
    return this.cell.path;
  }
}
