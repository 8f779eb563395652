import type { ActorRef } from '../src/actor/actor-ref.js';
import type { ActorSystem, ExtensionId } from '../src/actor/actor-system.js';
import { UnknownTransportError } from './errors.js';
import { DeliveryConfirmed } from './messages.js';
import type { DeliveryTransport, OutboundDelivery, TransportDestination } from './transport.js';
import { InvalidOptionError } from '../src/actor/errors.js';

/**
 * The transports of one actor system and the registry of live delivering actors by persistenceId,
 * so that a confirmation arriving over a transport reaches the actor that sent the delivery (also
 * a later incarnation of it, since the registry follows the persistenceId, not the instance).
 */
export class DeliveryTransports {
  static readonly id: ExtensionId<DeliveryTransports> = {
    name: 'delivery-transports',
    create: (system) => new DeliveryTransports(system),
  };

  static get(system: ActorSystem): DeliveryTransports {
    return system.extension(DeliveryTransports.id);
  }

  readonly #byName = new Map<string, DeliveryTransport>();
  readonly #started = new Map<string, Promise<void>>();
  readonly #ready = new Set<DeliveryTransport>();
  readonly #senders = new Map<string, ActorRef>();
  #rejectedConfirmations = 0;

  private constructor(private readonly system: ActorSystem) {
    for (const transport of system.options.transports ?? []) {
      if (this.#byName.has(transport.name)) throw new InvalidOptionError(`two transports are named "${transport.name}"`);
      this.#byName.set(transport.name, transport);
    }
    system.registerOnTermination(() => this.#close());
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  validate(destination: TransportDestination): void {
    const transport = this.#byName.get(destination.transport);
    if (!transport) throw new UnknownTransportError(destination.transport);
    transport.validateDestination(destination);
  }

  /** Confirmations that did not prove their delivery was received (forged, stale or garbled), so far. */
  get rejectedConfirmations(): number {
    return this.#rejectedConfirmations;
  }

  /** Called by a delivering actor that ignored a confirmation. @internal */
  noteRejectedConfirmation(): void {
    this.#rejectedConfirmations++;
  }

  registerSender(persistenceId: string, ref: ActorRef): void {
    this.#senders.set(persistenceId, ref);
  }

  unregisterSender(persistenceId: string, ref: ActorRef): void {
    if (this.#senders.get(persistenceId) === ref) this.#senders.delete(persistenceId);
  }

  send(destination: TransportDestination, delivery: OutboundDelivery): Promise<void> {
    const transport = this.#byName.get(destination.transport);
    if (!transport) return Promise.reject(new UnknownTransportError(destination.transport));
    // Once started, straight through: this runs for every delivery, and each await is a turn.
    if (this.#ready.has(transport)) return sendSafely(transport, destination, delivery);
    return this.#start(transport).then(() => transport.send(destination, delivery));
  }

  /** Starts every transport now (e.g. so an inbound reply queue is consumed before anything is sent). */
  async startAll(): Promise<void> {
    await Promise.all([...this.#byName.values()].map((transport) => this.#start(transport)));
  }

  #start(transport: DeliveryTransport): Promise<void> {
    let started = this.#started.get(transport.name);
    if (!started) {
      started = transport
        .start({
          // Not running here (yet): the delivery stays unconfirmed and its redelivery brings a new confirmation.
          confirm: (senderId, deliveryId) => this.#senderOf(senderId)?.tell(new DeliveryConfirmed(deliveryId, senderId)),
          confirmReceived: (senderId, deliveryId, token) => this.#senderOf(senderId)?.tell(new ReceiverConfirmation(deliveryId, senderId, token)),
          logger: this.system.log.child({ transport: transport.name }),
        })
        .then(
          () => {
            this.#ready.add(transport);
          },
          (error: unknown) => {
            this.#started.delete(transport.name);
            throw error;
          },
        );
      this.#started.set(transport.name, started);
    }
    return started;
  }

  // Wire sender ids are `${persistenceId}@${storeId}`; older deliveries use the bare persistenceId.
  #senderOf(senderId: string): ActorRef | undefined {
    const exact = this.#senders.get(senderId);
    if (exact !== undefined) return exact;
    const at = senderId.lastIndexOf('@');
    return at > 0 ? this.#senders.get(senderId.slice(0, at)) : undefined;
  }

  async #close(): Promise<void> {
    const started = [...this.#started.keys()];
    await Promise.allSettled(started.map((name) => this.#byName.get(name)!.close()));
  }
}

/**
 * A confirmation that arrived as a message from the receiver (e.g. a reply over RabbitMQ): anyone who
 * can publish to the reply queue could have sent it, so the delivering actor counts it only when its
 * token is the one the delivery carried, and drops it before user code sees it otherwise. A proven one
 * is handed on as it is (it is a DeliveryConfirmed: one object per confirmation on a hot path).
 */
export class ReceiverConfirmation extends DeliveryConfirmed {
  constructor(
    deliveryId: number,
    override readonly senderId: string,
    readonly token: string | undefined,
  ) {
    super(deliveryId, senderId);
  }
}

/** A user's transport that throws instead of rejecting must not throw into the delivering actor. */
function sendSafely(transport: DeliveryTransport, destination: TransportDestination, delivery: OutboundDelivery): Promise<void> {
  try {
    return transport.send(destination, delivery);
  } catch (error) {
    return Promise.reject(error);
  }
}
