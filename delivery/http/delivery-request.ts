/**
 * One attempt's request as undici's dispatch handler: its state and callbacks in one object, where a
 * handler of closures made ten allocations per delivery (a delivery makes one request per attempt,
 * thousands a second). Settles once: with the status when the answer is read to its end, or with the
 * first error (the answer failed, the attempt's deadline passed, or the transport closed).
 */
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { DestinationNotAllowedError, HttpNetworkError, HttpTimeoutError, HttpTransportClosedError } from './errors.js';

export class DeliveryRequest implements Dispatcher.DispatchHandler {
  #status = 0;
  #settled = false;
  // undici hands out the request's controller once it is on a connection; until then an abort waits.
  #controller: Dispatcher.DispatchController | undefined;
  #aborted: Error | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly label: string,
    private readonly deliveryId: number,
    /** The transport's running requests: this one is in it until it settles (close aborts them all). */
    private readonly running: Set<DeliveryRequest>,
    private readonly logger: Logger | undefined,
    /** The transport's timeout, for the error's message (the deadline may be shorter: time spent waiting for a slot). */
    private readonly timeoutMs: number,
    private readonly resolve: (status: number) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Starts the attempt's deadline (ms from now) and counts it as running. */
  arm(deadlineMs: number): void {
    this.running.add(this);
    this.#timer = setTimeout(expire, deadlineMs, this);
  }

  abort(error: Error): void {
    this.#aborted ??= error;
    this.#controller?.abort(error);
    this.#settle(undefined, error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#aborted) controller.abort(this.#aborted);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  // The body is not used; it is read to the end so that the connection is reused.
  onResponseData(): void {}

  onResponseEnd(): void {
    this.#settle(this.#status, undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const known = error instanceof HttpTimeoutError || error instanceof HttpTransportClosedError || error instanceof DestinationNotAllowedError;
    this.#settle(undefined, known ? error : new HttpNetworkError(this.label, error));
  }

  /** The deadline passed. @internal */
  expired(): void {
    this.abort(new HttpTimeoutError(this.label, this.timeoutMs));
  }

  #settle(status: number | undefined, error: Error | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.running.delete(this);
    if (error === undefined) {
      this.resolve(status!);
      return;
    }
    this.logger?.debug({ err: error.message, deliveryId: this.deliveryId }, 'http delivery attempt failed');
    this.reject(error);
  }
}

// A module function and the request as the timer's argument: no closure per request.
function expire(request: DeliveryRequest): void {
  request.expired();
}
