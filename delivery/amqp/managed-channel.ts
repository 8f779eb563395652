/**
 * A channel slot that survives reconnects. The connection manager opens it on every (re)connect and
 * re-opens it when the broker closes it alone; users hold the slot, never an amqplib channel for long.
 */
import type { Channel, ChannelModel } from 'amqplib';
import { AmqpClosedError, AmqpUnavailableError } from './errors.js';

/** The manager as a slot sees it (kept narrow so the two files do not import each other's classes). */
export interface ChannelOwner {
  noteChannelError(name: string, error: Error): void;
  noteHandlerError(name: string, event: string, error: Error): void;
  channelLost(managed: Reopenable): void;
  forget(managed: Reopenable): void;
}

export interface ChannelSpec<C extends Channel> {
  /** For log lines only. */
  readonly name: string;
  /** Runs on every (re)open, before the channel is handed out: prefetch, listeners, consume. */
  readonly setup?: (channel: C) => Promise<void>;
}

type ChannelListener<C> = (channel: C) => void;

/** What the manager needs of a managed channel, whatever its channel type. */
export interface Reopenable {
  readonly spec: { readonly name: string };
  readonly isClosed: boolean;
  open(model: ChannelModel): Promise<void>;
  close(): Promise<void>;
}

/** A channel slot that survives reconnects: `channel` is the live amqplib channel or undefined. */
export class ManagedChannel<C extends Channel> implements Reopenable {
  private current: C | undefined;
  /** Set as soon as the channel exists, before its setup runs: deliveries can arrive before setup resolves. */
  private latest: C | undefined;
  private closed = false;
  private readonly openListeners = new Set<ChannelListener<C>>();
  private readonly closeListeners = new Set<ChannelListener<C>>();
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly spec: ChannelSpec<C>,
    private readonly create: (model: ChannelModel) => Promise<C>,
    private readonly manager: ChannelOwner,
  ) {}

  get channel(): C | undefined {
    return this.current;
  }

  /**
   * True while `channel` is this slot's open channel, including during its setup (a consumer's first
   * deliveries may arrive before setup has resolved). Acks are only valid on the delivering channel.
   */
  isLive(channel: Channel): boolean {
    return this.latest === channel;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onOpen(listener: ChannelListener<C>): () => void {
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  onClose(listener: ChannelListener<C>): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Resolves once the channel is open; rejects after `timeoutMs` (the caller decides how long "away" is tolerable). */
  whenOpen(timeoutMs: number): Promise<C> {
    if (this.current) return Promise.resolve(this.current);
    if (this.closed) return Promise.reject(new AmqpClosedError(`channel ${this.spec.name}`));
    return new Promise<C>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        if (this.current) resolve(this.current);
        else reject(this.closed ? new AmqpClosedError(`channel ${this.spec.name}`) : new AmqpUnavailableError(`channel ${this.spec.name}`));
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** @internal called by the manager with a live connection. */
  async open(model: ChannelModel): Promise<void> {
    if (this.closed || this.current) return;
    const channel = await this.create(model);
    this.latest = channel;
    // amqplib emits 'error' before 'close' on a channel error; the close handler does the work.
    channel.on('error', (error: Error) => this.manager.noteChannelError(this.spec.name, error));
    channel.on('handler-error', (error: Error, event: string) => this.manager.noteHandlerError(this.spec.name, event, error));
    channel.once('close', () => this.handleClose(channel));
    try {
      await this.spec.setup?.(channel);
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await channel.close().catch(() => {});
      return;
    }
    this.current = channel;
    for (const listener of this.openListeners) listener(channel);
    for (const wake of [...this.waiters]) wake();
  }

  private handleClose(channel: C): void {
    if (this.latest === channel) this.latest = undefined;
    if (this.current !== channel) return;
    this.current = undefined;
    for (const listener of this.closeListeners) listener(channel);
    if (!this.closed) this.manager.channelLost(this);
  }

  /** Closes the channel for good (it is not re-opened). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.manager.forget(this);
    const channel = this.current;
    this.current = undefined;
    this.latest = undefined;
    if (channel) {
      for (const listener of this.closeListeners) listener(channel);
      await channel.close().catch(() => {});
    }
    for (const wake of [...this.waiters]) wake();
  }
}
