/** Errors of entity regions. */
import { SteadfastError } from '../actor/errors.js';

/**
 * A message for an entity that was stopped for good (`StopEntities`, a hand-off to another process)
 * before the message reached it; an ask waiting for it rejects with this. Over RabbitMQ the message
 * itself is not lost: it was not acked and goes to the entity's next owner.
 */
export class EntityStoppedError extends SteadfastError {
  constructor(readonly entityId: string) {
    super('ERR_ENTITY_STOPPED', `entity ${JSON.stringify(entityId)} was stopped (handed off) before the message reached it`);
  }
}
