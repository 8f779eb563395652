/**
 * How many bytes a value takes as JSON, without serializing it (the outbox's byte budget, and whether
 * a delivery's message is worth holding serialized: held-message.ts).
 */
import type { JsonValue } from './transport.js';

/**
 * A value's size as JSON in UTF-8 (what a journal stores, what a transport sends), counted without
 * building the JSON text: a send of a 100 KB payload would otherwise allocate 100 KB more garbage just
 * to be measured.
 * Equals `Buffer.byteLength(JSON.stringify(payload))` (test/delivery/outbox-backpressure.test.ts).
 */
export function jsonByteLength(payload: JsonValue): number {
  switch (typeof payload) {
    case 'string':
      return stringBytes(payload);
    case 'number':
      return Number.isFinite(payload) ? String(payload).length : 4;
    case 'boolean':
      return payload ? 4 : 5;
    case 'object': {
      if (payload === null) return 4;
      if (Array.isArray(payload)) {
        let bytes = 2 + Math.max(0, payload.length - 1);
        for (const item of payload) bytes += item === undefined || typeof item === 'function' ? 4 : jsonByteLength(item);
        return bytes;
      }
      let bytes = 2;
      let fields = 0;
      for (const key of Object.keys(payload)) {
        const value = payload[key];
        if (value === undefined || typeof value === 'function') continue;
        bytes += stringBytes(key) + 1 + jsonByteLength(value);
        fields++;
      }
      return bytes + Math.max(0, fields - 1);
    }
    default:
      return 0;
  }
}

// Characters JSON.stringify escapes: quote, backslash, controls, and lone surrogates (matching them is the point).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function stringBytes(text: string): number {
  if (!NEEDS_ESCAPE.test(text)) return Buffer.byteLength(text) + 2;
  return Buffer.byteLength(JSON.stringify(text));
}
