/**
 * Destinations the service refuses on top of what the transports check (the HTTP transport's
 * allowedHosts policy, see delivery/http/allowed-hosts.ts): RabbitMQ destinations that name the
 * service's own reply queue (a message there would be read as a confirmation batch) or broker-internal
 * names (`amq.*` exchanges and queues, e.g. `amq.rabbitmq.reply-to`), and the default exchange with
 * the reply queue as routing key. Answered 400 `destination_not_allowed` before anything is persisted.
 */
import type { TransportDestination } from '../delivery/transport.js';
import { BadRequestError } from './errors.js';

export type DestinationCheck = (destination: TransportDestination<string>) => void;

export class DestinationNotAllowedApiError extends BadRequestError {
  constructor(message: string) {
    super('destination_not_allowed', message);
  }
}

export function amqpDestinationCheck(replyQueue: string): DestinationCheck {
  return (destination) => {
    if (destination.transport !== 'amqp') return;
    const { queue, exchange, routingKey } = destination;
    if (typeof queue === 'string') {
      if (queue === replyQueue) throw new DestinationNotAllowedApiError(`destination.queue ${JSON.stringify(queue)} is this service's reply queue; it only takes confirmations`);
      if (queue.startsWith('amq.')) throw new DestinationNotAllowedApiError(`destination.queue ${JSON.stringify(queue)} is a broker-reserved name (amq.*)`);
    }
    if (typeof exchange === 'string') {
      if (exchange.startsWith('amq.')) throw new DestinationNotAllowedApiError(`destination.exchange ${JSON.stringify(exchange)} is a broker-reserved exchange (amq.*)`);
      if (exchange === '' && routingKey === replyQueue)
        throw new DestinationNotAllowedApiError(`destination.routingKey ${JSON.stringify(routingKey)} on the default exchange is this service's reply queue`);
    }
  };
}
