/**
 * One AMQP connection per manager, channels opened on demand and re-opened by themselves.
 *
 * Why not amqplib's built-in recovery: it restores the connection but not what hangs off it (channels,
 * topology, consumers), which is the hard part. The manager owns that order: connect, declare the
 * topology, then re-open every managed channel and run its setup (prefetch, consume, listeners). A
 * channel that dies while the connection lives (a channel error, basic.cancel handling) is re-opened
 * on its own. Reconnect uses p-retry: exponential backoff with jitter, until `close()`.
 *
 * Nothing here may throw from an event listener or leave an 'error' event unhandled: a lost broker is a
 * state, not a crash.
 */
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import pRetry, { AbortError } from 'p-retry';
import { pino, type Logger } from 'pino';
import { AmqpClosedError, AmqpConnectError, AmqpUnavailableError, describe, redactUrl } from './errors.js';
import { ManagedChannel, type ChannelOwner, type ChannelSpec, type Reopenable } from './managed-channel.js';
import { optionalInteger, optionalLogger, optionalString, requireObject, requireString, resolveReconnect, type ReconnectOptions, type ResolvedReconnect } from './options.js';
import { coalesceWrites } from './write-coalescing.js';
import { declareTopology, mergeTopology, validateTopology, type Topology } from './topology.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

export interface AmqpConnectionOptions {
  /** e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  readonly url: string;
  /** Shown as the connection name in the management UI and `rabbitmqctl list_connections`. */
  readonly connectionName?: string;
  readonly logger?: Logger;
  /** Declared after every (re)connect, before channels re-open. */
  readonly topology?: Topology;
  readonly reconnect?: ReconnectOptions;
  /** AMQP heartbeat; a dead TCP peer is noticed after about two of these. Default 10. */
  readonly heartbeatSeconds?: number;
}

export { ManagedChannel, type ChannelSpec } from './managed-channel.js';

export class AmqpConnectionManager implements ChannelOwner {
  readonly url: string;
  readonly logger: Logger;
  private readonly connectionName: string;
  private readonly reconnect: ResolvedReconnect;
  private readonly heartbeatSeconds: number;
  private topology: Required<Topology>;
  private model: ChannelModel | undefined;
  private readonly deadModels = new WeakSet<ChannelModel>();
  private currentState: ConnectionState = 'idle';
  private readonly channels = new Set<Reopenable>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly abort = new AbortController();
  private connecting: Promise<void> | undefined;
  private readonly loggedChannelErrors = new Set<string>();

  constructor(options: AmqpConnectionOptions) {
    const raw = requireObject(options, 'amqp connection options');
    this.url = requireString(raw.url, 'url');
    this.connectionName = optionalString(raw.connectionName, 'connectionName', 'steadfast');
    this.logger = (optionalLogger(raw.logger, 'logger') ?? pino({ name: 'steadfast.amqp' })).child({ amqp: this.connectionName });
    this.reconnect = resolveReconnect(raw.reconnect, 'reconnect');
    this.heartbeatSeconds = optionalInteger(raw.heartbeatSeconds, 'heartbeatSeconds', 10, { min: 0, max: 3600 });
    this.topology = validateTopology(raw.topology, 'topology');
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get isConnected(): boolean {
    return this.currentState === 'connected';
  }

  /** Listens to state changes; returns the unsubscribe function. */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Starts connecting (once) and resolves when connected; reconnects go on in the background forever. */
  start(): Promise<void> {
    if (this.currentState === 'closing' || this.currentState === 'closed') {
      return Promise.reject(new AmqpClosedError('the AMQP connection manager'));
    }
    if (this.currentState === 'idle') this.connectLoop('connecting');
    return this.waitForConnection(Number.POSITIVE_INFINITY);
  }

  waitForConnection(timeoutMs: number): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            unsubscribe();
            reject(new AmqpUnavailableError(`not connected within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
      const unsubscribe = this.onStateChange((state) => {
        if (state === 'connected') {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        } else if (state === 'closing' || state === 'closed') {
          clearTimeout(timer);
          unsubscribe();
          reject(new AmqpClosedError('the AMQP connection manager'));
        }
      });
    });
  }

  /** Adds to the topology; declared now when connected (so a caller may publish right after), else on connect. */
  async addTopology(topology: Topology): Promise<void> {
    const checked = validateTopology(topology);
    this.topology = mergeTopology(this.topology, checked);
    if (!this.model) return;
    await this.withTemporaryChannel((channel) => declareTopology(channel, checked));
  }

  /** Re-declares the whole topology on a short-lived channel (e.g. after a queue was deleted under a consumer). */
  async redeclareTopology(): Promise<void> {
    await this.withTemporaryChannel((channel) => declareTopology(channel, this.topology));
  }

  /**
   * Runs `use` on a channel of its own, closed afterwards: for operations the broker may answer by
   * closing the channel (a declare that fails, a passive check of something missing), which must not
   * take a managed channel down with them.
   */
  async withTemporaryChannel<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
    const model = this.model;
    if (!model) throw new AmqpUnavailableError('a temporary channel');
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  createChannel(spec: ChannelSpec<Channel>): ManagedChannel<Channel> {
    return this.register(new ManagedChannel<Channel>(spec, (model) => model.createChannel(), this));
  }

  createConfirmChannel(spec: ChannelSpec<ConfirmChannel>): ManagedChannel<ConfirmChannel> {
    return this.register(new ManagedChannel<ConfirmChannel>(spec, (model) => model.createConfirmChannel(), this));
  }

  private register<C extends Channel>(managed: ManagedChannel<C>): ManagedChannel<C> {
    if (this.currentState === 'closing' || this.currentState === 'closed') throw new AmqpClosedError('the AMQP connection manager');
    this.channels.add(managed);
    if (this.model) this.reopen(managed, this.model, false);
    return managed;
  }

  /** Closes every channel, then the connection. Callers that need a graceful drain (consumers) do it before. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    if (this.currentState === 'closing') return this.waitForState('closed');
    this.setState('closing');
    this.abort.abort();
    for (const managed of [...this.channels].reverse()) await managed.close();
    const model = this.model;
    this.model = undefined;
    if (model) {
      this.deadModels.add(model);
      await model.close().catch(() => {});
    }
    await this.connecting?.catch(() => {});
    this.setState('closed');
  }

  /** @internal */
  forget(managed: Reopenable): void {
    this.channels.delete(managed);
  }

  /** @internal a channel closed while we did not ask for it. */
  channelLost(managed: Reopenable): void {
    const model = this.model;
    // A lost connection closes every channel; the reconnect re-opens them, not this path.
    if (!model || this.deadModels.has(model) || this.abort.signal.aborted) return;
    this.reopen(managed, model, true);
  }

  /** @internal logged once per distinct reason: a bad publish repeated every redelivery tick must not flood the log. */
  noteChannelError(name: string, error: Error): void {
    const key = `${name}: ${error.message}`;
    if (this.loggedChannelErrors.has(key)) return;
    if (this.loggedChannelErrors.size > 200) this.loggedChannelErrors.clear();
    this.loggedChannelErrors.add(key);
    this.logger.warn({ channel: name, err: error.message }, 'AMQP channel closed by the broker; re-opening');
  }

  /** @internal */
  noteHandlerError(name: string, event: string, error: Error): void {
    this.logger.error({ channel: name, event, err: error }, 'AMQP event listener threw; continuing');
  }

  private reopen(managed: Reopenable, model: ChannelModel, delayFirst: boolean): void {
    const attempt = async (): Promise<void> => {
      if (this.model !== model || this.deadModels.has(model) || managed.isClosed) throw new AbortError('connection replaced');
      await managed.open(model);
    };
    const run = async () => {
      // A channel that dies right after opening (e.g. its setup hits a deleted queue) must not spin.
      if (delayFirst) await delay(this.reconnect.minDelayMs, this.abort.signal);
      await pRetry(attempt, this.retryOptions(`channel ${managed.spec.name}`));
    };
    run().catch((error: unknown) => {
      if (!this.abort.signal.aborted && !(error instanceof AbortError)) {
        this.logger.debug({ channel: managed.spec.name, err: describe(error) }, 'AMQP channel not re-opened');
      }
    });
  }

  private retryOptions(what: string): Parameters<typeof pRetry>[1] {
    let logged = false;
    return {
      retries: Number.POSITIVE_INFINITY,
      factor: this.reconnect.factor,
      minTimeout: this.reconnect.minDelayMs,
      maxTimeout: this.reconnect.maxDelayMs,
      randomize: true,
      signal: this.abort.signal,
      onFailedAttempt: ({ error, attemptNumber }) => {
        // One warning per outage; the rest at debug, so a long outage does not fill the log.
        if (!logged) {
          logged = true;
          this.logger.warn({ err: describe(error), attempt: attemptNumber }, `${what} failed; retrying with backoff`);
        } else {
          this.logger.debug({ err: describe(error), attempt: attemptNumber }, `${what} failed again`);
        }
      },
    };
  }

  private connectLoop(state: 'connecting' | 'reconnecting'): void {
    this.setState(state);
    const loop = pRetry(() => this.connectOnce(), this.retryOptions(state === 'connecting' ? 'connecting to RabbitMQ' : 'reconnecting to RabbitMQ'));
    this.connecting = loop.catch((error: unknown) => {
      if (!this.abort.signal.aborted) this.logger.error({ err: describe(error) }, 'AMQP connection gave up');
    });
  }

  private async connectOnce(): Promise<void> {
    let model: ChannelModel;
    try {
      model = await amqp.connect(withHeartbeat(this.url, this.heartbeatSeconds), {
        // Acks, replies and confirms are small frames written in separate ticks; with Nagle on, each
        // waits for the peer's delayed ACK (~40 ms), which caps a round trip window at ~25 per second.
        noDelay: true,
        clientProperties: { connection_name: this.connectionName },
      });
    } catch (error) {
      throw new AmqpConnectError(this.url, error);
    }
    if (this.abort.signal.aborted) {
      await model.close().catch(() => {});
      throw new AbortError('closed while connecting');
    }
    coalesceWrites(model);
    let lastError: Error | undefined;
    model.on('error', (error: Error) => {
      lastError = error;
    });
    model.on('handler-error', (error: Error, event: unknown) => this.noteHandlerError('connection', String(event), error));
    model.on('blocked', (reason: string) => this.logger.warn({ reason }, 'RabbitMQ blocked the connection (resource alarm)'));
    model.on('unblocked', () => this.logger.info('RabbitMQ unblocked the connection'));
    model.once('close', () => this.handleConnectionClosed(model, lastError));
    try {
      const setup = await model.createChannel();
      setup.on('error', () => {});
      await declareTopology(setup, this.topology);
      await setup.close();
      this.model = model;
      for (const managed of this.channels) await managed.open(model);
      if (this.deadModels.has(model)) throw new Error('connection closed during setup');
    } catch (error) {
      if (this.model === model) this.model = undefined;
      this.deadModels.add(model);
      await model.close().catch(() => {});
      throw error instanceof AmqpConnectError ? error : new AmqpConnectError(this.url, error);
    }
    this.setState('connected');
  }

  private handleConnectionClosed(model: ChannelModel, error: Error | undefined): void {
    this.deadModels.add(model);
    if (this.model !== model) return;
    this.model = undefined;
    if (this.abort.signal.aborted) return;
    this.logger.warn({ err: error?.message ?? 'closed by the broker' }, 'AMQP connection lost; reconnecting');
    this.connectLoop('reconnecting');
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    if (state === 'connected') this.logger.info({ url: redactUrl(this.url) }, 'AMQP connected');
    else if (state === 'closed') this.logger.info('AMQP connection closed');
    for (const listener of [...this.stateListeners]) listener(state);
  }

  private waitForState(target: ConnectionState): Promise<void> {
    return new Promise<void>((resolve) => {
      const unsubscribe = this.onStateChange((state) => {
        if (state === target) {
          unsubscribe();
          resolve();
        }
      });
    });
  }
}

/** Creates a connection manager; call `start()` to connect. */
export function amqpConnection(options: AmqpConnectionOptions): AmqpConnectionManager {
  return new AmqpConnectionManager(options);
}

function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
