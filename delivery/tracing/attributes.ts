/**
 * Span attributes of an attempt, from the plain data of its destination: the host and port of an
 * HTTP URL (never the URL itself, which may carry credentials or tokens in its query), the queue or
 * exchange and routing key of a RabbitMQ one. Computed only for spans that record.
 */
import type { OtelAttributes } from './open-telemetry.js';

export interface AttemptFacts {
  readonly senderId: string;
  readonly deliveryId: number;
  readonly attempt: number;
  readonly destination: { readonly transport: string; readonly [field: string]: unknown };
}

export function attemptAttributes({ senderId, deliveryId, attempt, destination }: AttemptFacts): OtelAttributes {
  const attributes: OtelAttributes = {
    'steadfast.sender_id': senderId,
    'steadfast.delivery_id': deliveryId,
    'steadfast.attempt': attempt,
    'steadfast.transport': destination.transport,
  };
  const { url, queue, exchange, routingKey } = destination;
  if (typeof url === 'string' && URL.canParse(url)) {
    const parsed = new URL(url);
    attributes['server.address'] = parsed.hostname;
    attributes['server.port'] = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  }
  if (destination.transport === 'amqp') {
    attributes['messaging.system'] = 'rabbitmq';
    attributes['messaging.operation.type'] = 'send';
    if (typeof queue === 'string') attributes['messaging.destination.name'] = queue;
    else if (typeof exchange === 'string') attributes['messaging.destination.name'] = exchange;
    if (typeof routingKey === 'string') attributes['messaging.rabbitmq.destination.routing_key'] = routingKey;
  }
  return attributes;
}
