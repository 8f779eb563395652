/**
 * The service's LeanHistogram prints exactly what prom-client's own Histogram prints for the same
 * observations (boundaries included: a value equal to a bound is in that bucket), and resets to zero.
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LeanHistogram } from '../../service/lean-histogram.js';
import { parseExposition } from './support/exposition.js';

const buckets = [0.001, 0.01, 0.1, 1, 10];
const values = [0, 0.0005, 0.001, 0.0011, 0.05, 0.1, 0.5, 1, 9.99, 10, 10.01, 1000];

describe('LeanHistogram', () => {
  it('prints what a prom-client Histogram prints for the same observations', async () => {
    const leanRegistry = new Registry();
    const referenceRegistry = new Registry();
    const lean = new LeanHistogram({ name: 'h_seconds', help: 'a histogram', buckets, registers: [leanRegistry] });
    const reference = new Histogram({ name: 'h_seconds', help: 'a histogram', buckets, registers: [referenceRegistry] });
    expect(await leanRegistry.metrics()).toBe(await referenceRegistry.metrics());
    for (const value of values) {
      lean.record(value);
      reference.observe(value);
    }
    lean.record(Number.NaN); // ignored: prom-client would throw
    const text = await leanRegistry.metrics();
    expect(text).toBe(await referenceRegistry.metrics());
    parseExposition(text);
    expect(text).toContain('h_seconds_bucket{le="0.001"} 3\n');
    expect(text).toContain(`h_seconds_count ${values.length}\n`);

    lean.reset();
    reference.reset();
    reference.zero({});
    expect(await leanRegistry.metrics()).toBe(await referenceRegistry.metrics());
  });
});
