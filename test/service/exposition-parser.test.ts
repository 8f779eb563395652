/**
 * The strict exposition parser the /metrics tests rely on (support/exposition.ts) refuses what
 * Prometheus would refuse or misread; a parser that accepted everything would make those tests pass
 * whatever /metrics printed.
 */
import { Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, promtoolCheck, sampleValue } from './support/exposition.js';

const histogram = (buckets: string, sum = '3', count = '2') =>
  `# HELP h_seconds A histogram.\n# TYPE h_seconds histogram\n${buckets}h_seconds_sum ${sum}\nh_seconds_count ${count}\n`;

describe('parseExposition', () => {
  it('reads prom-client output: families, types, escaped labels, histograms and its "Nan"', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'g', help: 'with "quotes" \\ and\nnewline', labelNames: ['name'], registers: [registry] });
    gauge.set({ name: 'a "b"\\c\nd' }, 1.5);
    gauge.set({ name: 'nan' }, Number.NaN);
    new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1], registers: [registry] }).observe(0.5);
    const text = await registry.metrics();
    expect(text).toContain('Nan');
    const families = parseExposition(text);
    expect(families.get('g')).toMatchObject({ type: 'gauge', help: 'with "quotes" \\ and\nnewline' });
    expect(sampleValue(families, 'g', { name: 'a "b"\\c\nd' })).toBe(1.5);
    expect(sampleValue(families, 'g', { name: 'nan' })).toBeNaN();
    expect(sampleValue(families, 'h_seconds_bucket', { le: '0.1' })).toBe(0);
    expect(sampleValue(families, 'h_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(families.get('h_seconds')!.samples).toHaveLength(5);
  });

  it.each([
    ['no final line feed', 'a 1'],
    ['a bad metric name', '1a 1\n'],
    ['a bad value', 'a one\n'],
    ['a bad escape in a label', 'a{l="\\t"} 1\n'],
    ['an unterminated label', 'a{l="x} 1\n'],
    ['a reserved label name', 'a{__l="x"} 1\n'],
    ['a label twice', 'a{l="x",l="y"} 1\n'],
    ['a series twice', 'a{l="x"} 1\na{l="x"} 2\n'],
    ['TYPE twice', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['HELP twice', '# HELP a x\n# HELP a y\na 1\n'],
    ['TYPE after the samples', 'a 1\n# TYPE a gauge\n'],
    ['an unknown type', '# TYPE a thing\na 1\n'],
    ['a family split in two', '# TYPE a gauge\na{l="1"} 1\nb 1\na{l="2"} 1\n'],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['buckets that are not cumulative', histogram('h_seconds_bucket{le="0.1"} 2\nh_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 2\n')],
    ['bucket bounds that do not increase', histogram('h_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="+Inf"} 2\n')],
    ['no +Inf bucket', histogram('h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="1"} 2\n')],
    ['+Inf that is not the count', histogram('h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="+Inf"} 2\n', '3', '3')],
    ['a histogram without _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow();
  });

  it('accepts a valid histogram, comments, blank lines and timestamps', () => {
    const families = parseExposition(`# a comment\n\n${histogram('h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="1"} 2\nh_seconds_bucket{le="+Inf"} 2\n')}t 1 1700000000000\n`);
    expect(families.get('h_seconds')!.type).toBe('histogram');
    expect(sampleValue(families, 't')).toBe(1);
  });

  it('promtoolCheck tells a parse error (exit 1) from lint problems (exit 3), where promtool is installed', () => {
    const broken = promtoolCheck('a{b="c} 1\n');
    if (!broken.available) {
      if (process.env.STEADFAST_REQUIRE_SERVICES === '1') throw new Error('promtool is not installed (Debian: apt-get install prometheus)');
      return;
    }
    expect(broken.exitCode).toBe(1);
    const lint = promtoolCheck('# HELP a_total A gauge named like a counter.\n# TYPE a_total gauge\na_total 1\n');
    expect(lint).toMatchObject({ exitCode: 3, lintProblems: [expect.stringMatching(/^a_total /)] });
  });
});
