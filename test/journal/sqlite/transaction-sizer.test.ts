import { describe, expect, it } from 'vitest';
import { TransactionSizer } from '../../../journal/sqlite/transaction-sizer.js';

/** Feeds `rounds` transactions of whatever size the sizer asks for, at a fixed cost per event and per COMMIT. */
function settle(sizer: TransactionSizer, insertMsPerEvent: number, commitMs: number, rounds = 30): number {
  for (let i = 0; i < rounds; i++) {
    const events = sizer.nextSize;
    sizer.record(events, events * insertMsPerEvent, commitMs);
  }
  return sizer.nextSize;
}

describe('TransactionSizer', () => {
  it('starts small, before anything was measured', () => {
    expect(new TransactionSizer(6, 1000).nextSize).toBe(128);
    expect(new TransactionSizer(6, 50).nextSize).toBe(50);
  });

  it('grows to the hard cap when inserts and COMMIT are cheap', () => {
    // 2 µs an event, 1 ms a COMMIT: 1000 events take 3 ms of a 6 ms budget.
    expect(settle(new TransactionSizer(6, 1000), 0.002, 1)).toBe(1000);
  });

  it('takes what fits in the budget after the COMMIT when inserts are slow', () => {
    // 20 µs an event, 2 ms a COMMIT: (6 - 2) / 0.02 = 200 events.
    const size = settle(new TransactionSizer(6, 1000), 0.02, 2);
    expect(size).toBeGreaterThanOrEqual(190);
    expect(size).toBeLessThanOrEqual(200);
  });

  it('shrinks when the machine slows down, and grows back when it recovers', () => {
    const sizer = new TransactionSizer(6, 1000);
    expect(settle(sizer, 0.002, 1)).toBe(1000);
    expect(settle(sizer, 0.05, 1)).toBeLessThanOrEqual(100);
    expect(settle(sizer, 0.002, 1)).toBe(1000);
  });

  it('keeps half the budget for inserts when a COMMIT alone is slower than the budget (smaller transactions would only add fsyncs)', () => {
    // 20 ms a COMMIT, 10 µs an event: half of 6 ms is 300 events.
    const size = settle(new TransactionSizer(6, 1000), 0.01, 20);
    expect(size).toBeGreaterThanOrEqual(290);
    expect(size).toBeLessThanOrEqual(300);
  });

  it('never goes below 32 events (or the cap, if lower), whatever one transaction cost', () => {
    const sizer = new TransactionSizer(6, 1000);
    sizer.record(128, 5000, 5000);
    expect(sizer.nextSize).toBe(32);
    const tiny = new TransactionSizer(6, 3);
    tiny.record(3, 5000, 5000);
    expect(tiny.nextSize).toBe(3);
  });

  it('one descheduled transaction does not collapse the size', () => {
    const sizer = new TransactionSizer(6, 1000);
    settle(sizer, 0.002, 1);
    sizer.record(1000, 100, 1); // the process lost the CPU for 100 ms mid-transaction
    expect(sizer.nextSize).toBeGreaterThanOrEqual(32);
    expect(settle(sizer, 0.002, 1, 15)).toBe(1000);
  });
});
