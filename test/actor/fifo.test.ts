/** The waiters' queue: arrival order, removal of one that gave up, and tickets that outlive compaction. */
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/actor/fifo.js';

describe('Fifo', () => {
  it('hands entries out in arrival order and skips the ones removed', () => {
    const fifo = new Fifo<string>();
    const a = fifo.push('a');
    fifo.push('b');
    const c = fifo.push('c');
    expect(fifo.remove(a)).toBe(true);
    expect(fifo.remove(a)).toBe(false);
    expect(fifo.size).toBe(2);
    expect(fifo.shift()).toBe('b');
    expect(fifo.remove(c)).toBe(true);
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.size).toBe(0);
  });

  it('keeps tickets valid while the consumed prefix is dropped, at any length', () => {
    const fifo = new Fifo<number>();
    const tickets = Array.from({ length: 50_000 }, (_, i) => fifo.push(i));
    for (let i = 0; i < 30_000; i++) expect(fifo.shift()).toBe(i);
    expect(fifo.remove(tickets[10]!)).toBe(false); // already handed out
    expect(fifo.remove(tickets[40_000]!)).toBe(true);
    const next = fifo.push(50_000);
    expect(fifo.size).toBe(20_000);
    const rest = fifo.drain();
    expect(rest).toHaveLength(20_000);
    expect(rest[0]).toBe(30_000);
    expect(rest.includes(40_000)).toBe(false);
    expect(rest.at(-1)).toBe(50_000);
    expect(fifo.remove(next)).toBe(false);
    expect(fifo.push(7)).toBeGreaterThan(next);
    expect(fifo.shift()).toBe(7);
  });
});
