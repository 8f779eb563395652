/**
 * Wiring of the service: stores, transports, the actor system, the durable outbox (behind its lease
 * when the store is shared: see outbox-role.ts) and the HTTP API; and the orderly way down (stop
 * accepting, answer what is being handled, terminate the system, which flushes journal writes and
 * closes plugins and transports).
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ActorSystem } from '../src/actor/actor-system.js';
import { AskTimeoutError, asError } from '../src/actor/errors.js';
import { Persistence } from '../src/persistence/persistence.js';
import { Outbox } from '../delivery/outbox/outbox.js';
import type { DeliveryTransport } from '../delivery/transport.js';
import { DeliveryTransports } from '../delivery/transports.js';
import { httpTransport } from '../delivery/http/index.js';
import type { ServiceConfig } from './config.js';
import { StartupError } from './errors.js';
import { ApiAuth } from './auth.js';
import { amqpDestinationCheck, type DestinationCheck } from './destination-policy.js';
import { ApiServer } from './http-server.js';
import { ServiceMetrics } from './metrics.js';
import { OutboxHolder, OutboxOwnership, type Role } from './outbox-role.js';
import { apiRoutes, type HealthReport } from './routes.js';
import { createStores } from './stores.js';

export interface RunningService {
  readonly address: AddressInfo;
  readonly system: ActorSystem;
  /** `active` runs the outbox; `standby` waits for another process's lease (PostgreSQL only). */
  readonly role: Role;
  /** The outbox while active, else undefined. */
  readonly outbox: Outbox | undefined;
  /** Stops accepting, answers requests being handled, terminates the system. Idempotent. */
  shutdown(): Promise<void>;
}

/** Broker state as the health check needs it (the AMQP transport is loaded only with AMQP_URL). */
interface BrokerProbe {
  isConnected(): boolean;
}

const HEALTH_TIMEOUT_MS = 2000;
/** Recovery of a long journal can take a while; the API opens only once the outbox answers. */
const RECOVERY_WAIT_MS = 10 * 60_000;
/** The outbox's actor name and persistenceId; its lease is named after it. */
const OUTBOX_NAME = 'outbox';
/** A standby tries the lease this often: the takeover comes at most this long after the lock freed, plus recovery. */
const STANDBY_POLL_MS = 1000;

export async function startService(config: ServiceConfig, logger: Logger): Promise<RunningService> {
  const stores = await createStores(config, logger);
  const allowedHosts = config.httpAllowedHosts === undefined ? {} : { allowedHosts: config.httpAllowedHosts };
  const transports: DeliveryTransport[] = [httpTransport({ timeoutMs: config.httpTimeoutMs, maxConcurrency: config.httpMaxConcurrency, ...allowedHosts })];
  let broker: BrokerProbe | undefined;
  let checkDestination: DestinationCheck | undefined;
  if (config.amqpUrl !== undefined) {
    const { amqpTransport } = await import('../delivery/amqp/index.js');
    const amqp = amqpTransport({ url: config.amqpUrl, serviceName: config.amqpServiceName });
    transports.push(amqp);
    broker = { isConnected: () => amqp.connection?.isConnected ?? false };
    checkDestination = amqpDestinationCheck(amqp.replyQueue);
  }
  const system = ActorSystem.create('steadfast', { logger, journal: stores.journal, snapshotStore: stores.snapshotStore, transports });
  try {
    try {
      await Persistence.get(system).pingJournal();
    } catch (error) {
      throw new StartupError(`the journal (${stores.description}) is not usable: ${(error as Error).message}`, error);
    }
    logger.info({ journal: stores.description }, 'journal ready');
    // Started now so the reply queue is consumed before anything is sent, and health reflects the broker.
    await DeliveryTransports.get(system).startAll();

    const holder = new OutboxHolder(stores.leaseScope);
    const startOutbox = async (): Promise<Outbox> => {
      const outbox = Outbox.start(system, {
        name: OUTBOX_NAME,
        redeliverInterval: config.redeliverIntervalMs,
        redeliveryBackoff: { maxInterval: config.redeliveryMaxIntervalMs },
        snapshotEvery: config.snapshotEvery,
        maxUnconfirmedMessages: config.maxUnconfirmedMessages,
        maxUnconfirmedBytes: config.maxUnconfirmedBytes,
        ...(config.deadLetterAfterAttempts > 0 ? { deadLetterAfterAttempts: config.deadLetterAfterAttempts } : {}),
      });
      try {
        const recovered = await waitForRecovery(outbox);
        logger.info(
          { inFlight: recovered.inFlight, accepted: recovered.accepted, confirmed: recovered.confirmed },
          'outbox recovered; unconfirmed deliveries are being sent again',
        );
      } catch (error) {
        await outbox.stop();
        throw error;
      }
      return outbox;
    };
    // The journal offers leases when several processes can share its store (PostgreSQL); then one of
    // them is active and the others wait as hot standbys. The lease is the outbox's, not the journal's:
    // other processes (entities, projections) keep using the same schema.
    const journal = stores.journal;
    const ownership = new OutboxOwnership({
      holder,
      logger,
      acquire: journal.acquireLease === undefined ? undefined : () => journal.acquireLease!(`outbox:${OUTBOX_NAME}`),
      startOutbox,
      pollIntervalMs: STANDBY_POLL_MS,
    });

    const metrics = new ServiceMetrics();
    const health = async (): Promise<HealthReport> => {
      const checks: Record<string, { ok: boolean; error?: string }> = {};
      try {
        await withTimeout(Persistence.get(system).pingJournal(), HEALTH_TIMEOUT_MS, 'no answer');
        checks.journal = { ok: true };
      } catch (error) {
        checks.journal = { ok: false, error: (error as Error).message };
      }
      if (broker) checks.broker = broker.isConnected() ? { ok: true } : { ok: false, error: 'not connected to RabbitMQ (reconnecting)' };
      if (server.isClosing) checks.service = { ok: false, error: 'shutting down' };
      const role = holder.role;
      return { healthy: role === 'active' && Object.values(checks).every((check) => check.ok), role, checks };
    };
    const auth = new ApiAuth(config.apiToken);
    const routes = [
      ...apiRoutes({
        outbox: holder,
        metrics,
        health,
        brokerConnected: () => broker?.isConnected(),
        rejectedConfirmations: () => DeliveryTransports.get(system).rejectedConfirmations,
        checkDestination,
      }),
      ...auth.routes(),
    ];
    const server = new ApiServer(routes, {
      authorize: auth.authorize,
      maxBodyBytes: config.maxBodyBytes,
      logger: logger.child({ component: 'http' }),
      onResponse: (route, status) => metrics.countRequest(route, status),
    });

    try {
      await ownership.start();
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw new StartupError(`cannot take the outbox lease (${stores.description}): ${(error as Error).message}`, error);
    }
    // An active process opens the API once the outbox recovered; a standby at once, to say so.
    let address: AddressInfo;
    try {
      address = await server.listen(config.port, config.host);
    } catch (error) {
      await ownership.close();
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, error);
    }
    let stopping: Promise<void> | undefined;
    return {
      address,
      system,
      get role() {
        return holder.role;
      },
      get outbox() {
        return holder.current;
      },
      shutdown: () =>
        (stopping ??= (async () => {
          await server.close();
          logger.info('HTTP server closed; every accepted message is persisted');
          // No takeover from here on; the journal's close (after the last write) releases the lease.
          await ownership.close();
          await system.terminate();
        })()),
    };
  } catch (error) {
    await system.terminate().catch(() => {});
    throw error;
  }
}

async function waitForRecovery(outbox: Outbox): Promise<Awaited<ReturnType<Outbox['stats']>>> {
  const deadline = Date.now() + RECOVERY_WAIT_MS;
  for (;;) {
    try {
      return await outbox.stats();
    } catch (error) {
      if (!(error instanceof AskTimeoutError) || Date.now() > deadline) throw new StartupError(`the outbox did not recover: ${(error as Error).message}`, error);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(asError(error));
      },
    );
  });
}
