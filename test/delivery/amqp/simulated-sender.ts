/**
 * Plays an AtLeastOnceDeliveryActor in tests that do not have one: an unconfirmed set, a first send of
 * every delivery with a window of sends in flight, and a periodic resend of every delivery that is still
 * unconfirmed after `redeliverAfterMs`. A failed send simply leaves the delivery unconfirmed.
 */
import type { DeliveryTransport, TransportDestination } from '../../../delivery/transport.js';

interface Entry {
  attempt: number;
  lastSentAt: number;
  sending: boolean;
}

export class SimulatedSender {
  readonly unconfirmed = new Map<number, Entry>();
  sendFailures = 0;
  sends = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly transport: DeliveryTransport,
    private readonly destination: TransportDestination,
    readonly senderId: string,
    private readonly options: {
      redeliverAfterMs: number;
      tickMs: number;
      window: number;
      firstSendsPerSecond?: number;
      onSend?: (sends: number) => void;
      /**
       * First sends of ids above `afterId` wait for `until`: the test holds the stream back until what it
       * injected (a dropped connection) has happened, so that it lands mid-stream on any machine. The
       * pacing starts again from the moment `until` settles.
       */
      hold?: { afterId: number; until: Promise<unknown> };
    },
  ) {}

  /** Called from the TransportContext's confirm. */
  confirm(deliveryId: number): void {
    this.unconfirmed.delete(deliveryId);
  }

  async sendAll(count: number): Promise<void> {
    for (let id = 1; id <= count; id++) this.unconfirmed.set(id, { attempt: 0, lastSentAt: 0, sending: false });
    this.timer = setInterval(() => this.redeliver(), this.options.tickMs);
    let next = 1;
    let paceStart = Date.now();
    let paceFrom = 0;
    const rate = this.options.firstSendsPerSecond;
    const hold = this.options.hold;
    const restartPacing = (): void => {
      paceStart = Date.now();
      paceFrom = Math.min(hold!.afterId, next - 1);
    };
    hold?.until.then(restartPacing, restartPacing);
    const worker = async () => {
      while (next <= count) {
        const id = next++;
        if (hold && id > hold.afterId) await hold.until;
        // Pacing like a live system, so that a fault injected "mid-stream" lands mid-stream.
        if (rate) {
          const due = paceStart + ((id - paceFrom) / rate) * 1000 - Date.now();
          if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
        }
        await this.sendOne(id);
      }
    };
    await Promise.all(Array.from({ length: this.options.window }, worker));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private redeliver(): void {
    const now = Date.now();
    for (const [id, entry] of this.unconfirmed) {
      if (!entry.sending && entry.attempt > 0 && now - entry.lastSentAt >= this.options.redeliverAfterMs) void this.sendOne(id);
    }
  }

  private async sendOne(id: number): Promise<void> {
    const entry = this.unconfirmed.get(id);
    if (!entry || entry.sending) return;
    entry.sending = true;
    entry.attempt++;
    entry.lastSentAt = Date.now();
    this.sends++;
    this.options.onSend?.(this.sends);
    try {
      await this.transport.send(this.destination, { senderId: this.senderId, deliveryId: id, message: { id }, attempt: entry.attempt });
    } catch {
      this.sendFailures++;
    } finally {
      entry.sending = false;
    }
  }
}
