import { UnsafeIntegerError } from './errors.js';

const EMPTY: readonly string[] = Object.freeze([]);

/** A BIGINT as mysql2 hands it out (a number while exact, a string beyond) to a JS number, refusing unsafe ones. */
export function toSafeNumber(value: unknown, column: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new UnsafeIntegerError(column, String(value));
  return n;
}

/** The stored payload: JSON text when that column is set, else the bytes. */
export function payloadOf(json: string | null, bytes: Uint8Array | null): string | Uint8Array {
  if (json !== null) return json;
  return bytes ?? new Uint8Array(0);
}

/** Tags are stored as a JSON array of strings, NULL for none (the common case: nothing to parse). */
export function tagsOf(value: string | null): readonly string[] {
  if (value === null || value === '[]') return EMPTY;
  return JSON.parse(value) as string[];
}

export function tagsColumn(tags: readonly string[]): string | null {
  return tags.length === 0 ? null : JSON.stringify(tags);
}

/** A VARBINARY key column back to the text it was written from. */
export function textOf(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** Bytes as mysql2 sends them (a Buffer over the same memory, no copy). */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
