import { describe, expect, it } from 'vitest';
import { scanJson } from '../../service/json-limits.js';

describe('scanJson', () => {
  it('finds integers beyond 2^53-1 and leaves the ones up to it, floats and strings of digits alone', () => {
    expect(scanJson('{"n": 9007199254740991}', 64).unsafeInteger).toBeUndefined();
    expect(scanJson('{"n": 9007199254740993}', 64).unsafeInteger).toEqual({ literal: '9007199254740993', offset: 6 });
    expect(scanJson('[-12345678901234567890]', 64).unsafeInteger?.literal).toBe('-12345678901234567890');
    expect(scanJson('[1234567890123456789.5, 1e400]', 64).unsafeInteger).toBeUndefined();
    expect(scanJson('{"id": "12345678901234567890"}', 64).unsafeInteger).toBeUndefined();
  });

  it('measures nesting, not the braces and brackets inside strings', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    expect(scanJson(nested(64), 64).tooDeep).toBe(false);
    expect(scanJson(nested(65), 64).tooDeep).toBe(true);
    // Many '{' in a string: more than the limit in all, but no nesting (the full scan decides).
    expect(scanJson(JSON.stringify({ text: '{'.repeat(200), list: [[1]] }), 64).tooDeep).toBe(false);
    expect(scanJson(JSON.stringify({ text: '{'.repeat(200) }), 3).tooDeep).toBe(false);
    expect(scanJson(JSON.stringify({ a: { b: { c: {} } } }), 3).tooDeep).toBe(true);
  });

  it('an ordinary message body passes both checks', () => {
    const body = JSON.stringify({
      destination: { transport: 'http', url: 'http://127.0.0.1:9/hook' },
      payload: { orderId: 'order-00000001', lines: [{ sku: 'sku-1', quantity: 2, priceCents: 1299 }] },
    });
    expect(scanJson(body, 64)).toEqual({ tooDeep: false, unsafeInteger: undefined });
  });
});
