/**
 * Wiring of the service: stores, transports, the actor system, the durable outbox (behind its lease
 * when the store is shared: see outbox-role.ts) and the HTTP API; and the orderly way down (stop
 * accepting, answer what is being handled, terminate the system, which flushes journal writes and
 * closes plugins and transports).
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ActorSystem } from '../src/actor/actor-system.js';
import { AskTimeoutError } from '../src/actor/errors.js';
import type { AsyncWriteJournal } from '../src/persistence/journal.js';
import { Persistence } from '../src/persistence/persistence.js';
import { projectionFigures } from '../src/query/projection-registry.js';
import { Outbox } from '../delivery/outbox/outbox.js';
import type { ExchangeCheck } from '../delivery/amqp/exchange-checks.js';
import type { DeliveryTransport } from '../delivery/transport.js';
import { DeliveryTransports } from '../delivery/transports.js';
import { httpTransport } from '../delivery/http/index.js';
import type { ServiceConfig } from './config.js';
import { StartupError } from './errors.js';
import { ApiAuth } from './auth.js';
import { amqpDestinationCheck, type DestinationCheck } from './destination-policy.js';
import { Dashboard } from './dashboard.js';
import { ApiServer } from './http-server.js';
import { timedJournal } from './journal-timing.js';
import { ServiceMetrics } from './metrics.js';
import { OutboxHolder, OutboxOwnership, type Role } from './outbox-role.js';
import { ServiceHealth } from './health.js';
import { apiRoutes } from './routes.js';
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
/** While the journal cannot write, it is probed this often for whether it can again. */
const PROBE_INTERVAL_MS = 1000;
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
  let checkExchange: ((exchange: string) => Promise<ExchangeCheck>) | undefined;
  if (config.amqpUrl !== undefined) {
    const { amqpTransport } = await import('../delivery/amqp/index.js');
    const amqp = amqpTransport({ url: config.amqpUrl, serviceName: config.amqpServiceName });
    transports.push(amqp);
    broker = { isConnected: () => amqp.connection?.isConnected ?? false };
    checkDestination = amqpDestinationCheck(amqp.replyQueue);
    checkExchange = (exchange) => amqp.checkExchange(exchange);
  }
  const holder = new OutboxHolder(stores.leaseScope);
  // Created once the routes are; health asks it whether the service is shutting down.
  let server: ApiServer | undefined;
  const health = new ServiceHealth({
    holder,
    logger,
    storeDescription: stores.description,
    ...(broker === undefined ? {} : { brokerConnected: () => broker.isConnected() }),
    isClosing: () => server?.isClosing ?? false,
    probeIntervalMs: PROBE_INTERVAL_MS,
    probeTimeoutMs: HEALTH_TIMEOUT_MS,
  });
  holder.refuseWritesWhen(() => health.writeRefusal());
  const metrics = new ServiceMetrics();
  const journal = health.observe(timedJournal(stores.journal, metrics.journalTimings));
  const system = ActorSystem.create('steadfast', { logger, journal, snapshotStore: health.observeSnapshots(stores.snapshotStore), transports });
  try {
    try {
      await Persistence.get(system).pingJournal();
    } catch (error) {
      throw unusableStore(stores.description, journal, error);
    }
    logger.info({ journal: stores.description }, 'journal ready');
    // Started now so the reply queue is consumed before anything is sent, and health reflects the broker.
    await DeliveryTransports.get(system).startAll();

    const startOutbox = async (): Promise<Outbox> => {
      const outbox = Outbox.start(system, {
        name: OUTBOX_NAME,
        redeliverInterval: config.redeliverIntervalMs,
        redeliveryBackoff: { maxInterval: config.redeliveryMaxIntervalMs },
        snapshotEvery: config.snapshotEvery,
        maxUnconfirmedMessages: config.maxUnconfirmedMessages,
        maxUnconfirmedBytes: config.maxUnconfirmedBytes,
        ...(config.deadLetterAfterAttempts > 0 ? { deadLetterAfterAttempts: config.deadLetterAfterAttempts } : {}),
        observer: metrics.outboxObserver,
      });
      try {
        const recovered = await waitForRecovery(outbox, health, stores.description, journal);
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
    const ownership = new OutboxOwnership({
      holder,
      logger,
      acquire: journal.acquireLease === undefined ? undefined : () => journal.acquireLease!(`outbox:${OUTBOX_NAME}`),
      startOutbox,
      pollIntervalMs: STANDBY_POLL_MS,
    });

    const auth = new ApiAuth(config.apiToken);
    const dashboard = new Dashboard({ holder, health: () => health.report(), logger: logger.child({ component: 'dashboard' }) });
    const routes = [
      ...apiRoutes({
        outbox: holder,
        metrics,
        health: () => health.report(),
        explainFailure: (error) => health.explain(error),
        guardSubmission: (pending) => health.guard(pending),
        brokerConnected: () => broker?.isConnected(),
        rejectedConfirmations: () => DeliveryTransports.get(system).rejectedConfirmations,
        // Projections an embedding program starts with `service.system` (startProjection, postgresProjection).
        projections: () => projectionFigures(system),
        checkDestination,
        checkExchange,
      }),
      ...auth.routes(),
      ...dashboard.routes(),
    ];
    const api = new ApiServer(routes, {
      authorize: auth.authorize,
      maxBodyBytes: config.maxBodyBytes,
      maxJsonDepth: config.maxJsonDepth,
      logger: logger.child({ component: 'http' }),
      onResponse: (route, status) => metrics.countRequest(route, status),
    });
    server = api;

    // The port first: a busy one is found before recovery resends anything, and while the outbox
    // recovers the API says so (503 recovering) instead of refusing connections.
    let address: AddressInfo;
    try {
      address = await api.listen(config.port, config.host);
    } catch (error) {
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, error);
    }
    logger.info({ host: address.address, port: address.port }, 'port bound; answering 503 recovering until the outbox recovered');
    dashboard.start();
    try {
      await ownership.start();
    } catch (error) {
      dashboard.close();
      await api.close();
      await ownership.close();
      if (error instanceof StartupError) throw error;
      throw new StartupError(`cannot take the outbox lease (${stores.description}): ${(error as Error).message}`, error);
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
          // Event streams first: they would hold the HTTP server's close until they end.
          dashboard.close();
          await api.close();
          logger.info('HTTP server closed; every accepted message is persisted');
          health.close();
          // No takeover from here on; the journal's close (after the last write) releases the lease.
          await ownership.close();
          await system.terminate();
          metrics.close();
        })()),
    };
  } catch (error) {
    health.close();
    metrics.close();
    await system.terminate().catch(() => {});
    throw error;
  }
}

/**
 * A store that cannot be opened or read at start is the operator's to fix; a corrupt one is named with
 * what to do (retrying would only repeat the failure).
 */
function unusableStore(description: string, journal: AsyncWriteJournal, error: unknown): StartupError {
  const message = (error as Error).message;
  if (journal.classifyError?.(error) !== 'corrupt') return new StartupError(`the journal (${description}) is not usable: ${message}`, error);
  // The SQLite plugin's own error already names the file and the remedy.
  if ((error as { code?: unknown }).code === 'ERR_CORRUPT_DATABASE') return new StartupError(message, error);
  return new StartupError(`the journal (${description}) cannot be read (${message}): restore it from a backup, or move it away to start with an empty store`, error);
}

/**
 * Waits until the outbox answers, i.e. it recovered (an outbox that fails recovering is brought back
 * by its supervisor: a store that is still starting, or a database restarting, is waited for). A
 * corrupt store ends the wait at once: it never recovers by itself.
 */
async function waitForRecovery(outbox: Outbox, health: ServiceHealth, description: string, journal: AsyncWriteJournal): Promise<Awaited<ReturnType<Outbox['stats']>>> {
  const deadline = Date.now() + RECOVERY_WAIT_MS;
  const corrupt = new Promise<never>((_resolve, reject) => health.onCorrupt((error) => reject(unusableStore(description, journal, error))));
  try {
    for (;;) {
      try {
        return await Promise.race([outbox.stats(), corrupt]);
      } catch (error) {
        if (error instanceof StartupError) throw error;
        if (!(error instanceof AskTimeoutError) || Date.now() > deadline) throw new StartupError(`the outbox did not recover: ${(error as Error).message}`, error);
      }
    }
  } finally {
    health.onCorrupt(undefined);
  }
}
