/**
 * The Outbox's `observer` option reports what this process does — accepted, confirmed (with the time
 * since the message was accepted, also across a restart), failed attempts with their error, dead
 * letters, redrives, cancellations, recoveries — and nothing a replay rebuilds; an observer that throws
 * is logged and ignored. At debug, the outbox logs one line per state change of a delivery.
 */
import { describe, expect, it } from 'vitest';
import { Outbox, type OutboundDelivery, type OutboxObserver } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { captureLogs } from '../persistence/support/harness.js';
import { FakeTransport, stores, systemsWithClock } from './support/delivery-fixtures.js';

const { systems } = systemsWithClock();
const orders = { transport: 'fake' as const, topic: 'orders' };
const isOutbound = (message: unknown): message is OutboundDelivery => typeof (message as OutboundDelivery)?.deliveryId === 'number';

type Call = { readonly kind: keyof OutboxObserver; readonly args: readonly unknown[] };

/** Records every callback; `next(kind)` resolves with the first call of that kind not taken yet. */
class Recorder {
  readonly calls: Call[] = [];
  readonly #taken = new Set<Call>();
  readonly #waiting: { kind: keyof OutboxObserver; resolve: (call: Call) => void }[] = [];
  readonly observer: Required<OutboxObserver>;

  constructor() {
    const record =
      (kind: keyof OutboxObserver) =>
      (...args: unknown[]) => {
        const call = { kind, args };
        this.calls.push(call);
        const waiter = this.#waiting.findIndex((each) => each.kind === kind);
        if (waiter >= 0) {
          this.#taken.add(call);
          this.#waiting.splice(waiter, 1)[0]!.resolve(call);
        }
      };
    this.observer = {
      accepted: record('accepted'),
      confirmed: record('confirmed'),
      attemptFailed: record('attemptFailed'),
      deadLettered: record('deadLettered'),
      redriven: record('redriven'),
      cancelled: record('cancelled'),
      recovered: record('recovered'),
    };
  }

  next(kind: keyof OutboxObserver): Promise<Call> {
    const found = this.calls.find((call) => call.kind === kind && !this.#taken.has(call));
    if (found) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => this.#waiting.push({ kind, resolve }));
  }

  count(kind: keyof OutboxObserver): number {
    return this.calls.filter((call) => call.kind === kind).length;
  }
}

describe('Outbox observer', () => {
  it('reports accepted, failed attempts, confirmed with the time since accepting (across a restart) and recoveries', async () => {
    const plugins = stores();
    const fake = new FakeTransport();
    const first = systems.start('observed-1', plugins, { transports: [fake] });
    const sends = TestProbe.create(first, 'sends');
    fake.sends = sends.ref;
    const recorder = new Recorder();
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, observer: recorder.observer });
    expect((await recorder.next('recovered')).args).toEqual([expect.any(Number), 0]);

    fake.behaviour = 'reject';
    const beforeSend = Date.now();
    const { deliveryId } = await outbox.send(orders, { n: 1 });
    expect((await recorder.next('accepted')).args).toEqual([deliveryId]);
    const failed = await recorder.next('attemptFailed');
    expect(failed.args[0]).toBe(deliveryId);
    expect((failed.args[1] as Error).message).toBe(`broker refused delivery ${deliveryId}`);
    await first.terminate();
    // A deliberate gap, so that a latency measured from the resend instead of the accept would show.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const second = systems.start('observed-2', plugins, { transports: [fake] });
    const sends2 = TestProbe.create(second, 'sends');
    fake.sends = sends2.ref;
    fake.behaviour = 'record';
    const after = new Recorder();
    Outbox.start(second, { redeliverInterval: 60_000, observer: after.observer });
    const recovered = await after.next('recovered');
    expect(recovered.args).toEqual([expect.any(Number), 1]);
    expect(recovered.args[0]).toBeGreaterThanOrEqual(0);
    const resent = await sends2.expectMsg<OutboundDelivery>(isOutbound);
    fake.confirmFor(resent.senderId, resent.deliveryId);
    const confirmed = await after.next('confirmed');
    expect(confirmed.args[0]).toBe(deliveryId);
    // From the accept before the restart (the gap included), never more than the test's own clock saw.
    expect(confirmed.args[1] as number).toBeGreaterThanOrEqual(295);
    expect(confirmed.args[1] as number).toBeLessThanOrEqual(Date.now() - beforeSend);
    // Replay rebuilt the delivery without reporting it as accepted again.
    expect(after.count('accepted')).toBe(0);
  });

  it('reports dead letters, redrives and cancellations; a throwing observer is logged and ignored', async () => {
    const logs = captureLogs();
    const fake = new FakeTransport();
    const system = systems.start('observed-dead', stores(), { transports: [fake], logger: logs.logger });
    const recorder = new Recorder();
    const throwing: OutboxObserver = {
      ...recorder.observer,
      accepted: () => {
        throw new Error('observer bug');
      },
    };
    const outbox = Outbox.start(system, { redeliverInterval: 50, deadLetterAfterAttempts: 1, observer: throwing });
    await recorder.next('recovered');
    const { deliveryId } = await outbox.send(orders, { n: 1 });
    await logs.waitFor((line) => line.msg === 'an outbox observer callback threw; ignored' && line.callback === 'accepted');
    expect((await recorder.next('deadLettered')).args).toEqual([deliveryId, 'no confirmation after 1 attempts']);

    expect(await outbox.redrive(deliveryId)).toEqual([deliveryId]);
    const redriven = await recorder.next('redriven');
    expect(redriven.args[0]).toBe(deliveryId);
    const newId = redriven.args[1] as number;
    expect(newId).toBeGreaterThan(deliveryId);
    await logs.waitFor((line) => line.level === 30 && line.msg === 'redrove 1 dead letter(s)');

    expect(await outbox.cancel(newId)).toMatchObject({ status: 'cancelled' });
    expect((await recorder.next('cancelled')).args).toEqual([newId, 'in-flight']);
    // One debug line per state change of the first delivery, and no info line per message.
    const about = (id: number) => logs.lines.filter((line) => line.deliveryId === id);
    expect(about(deliveryId).map((line) => [line.level, line.msg])).toEqual([
      [20, `delivery ${deliveryId}: accepted and sent`],
      [40, `delivery ${deliveryId} dead-lettered after 1 attempts: no confirmation after 1 attempts`],
    ]);
    expect(about(newId).map((line) => [line.level, line.msg])).toEqual([[30, `delivery ${newId} cancelled`]]);

    // A dead letter cancelled: the same callback, saying where from, and one info line.
    const other = await outbox.send(orders, { n: 2 });
    expect((await recorder.next('deadLettered')).args[0]).toBe(other.deliveryId);
    expect(await outbox.cancelDeadLetter(other.deliveryId)).toMatchObject({ status: 'cancelled' });
    expect((await recorder.next('cancelled')).args).toEqual([other.deliveryId, 'dead-letter']);
    expect(
      about(other.deliveryId)
        .filter((line) => line.level === 30)
        .map((line) => line.msg),
    ).toEqual([`dead letter ${other.deliveryId} cancelled: it is not sent again`]);
  });

  it('refuses an observer that is not an object', () => {
    const system = systems.start('observed-bad', stores());
    expect(() => Outbox.start(system, { observer: 'metrics' as unknown as OutboxObserver })).toThrow(/observer must be an object/);
  });
});
