import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import { UnsafeIntegerError } from './errors.js';

const INT8 = 20;
const TEXT_ARRAY = 1009;
const EMPTY: readonly string[] = Object.freeze([]);
// pg's typings only list scalar type ids; the array parsers exist at runtime all the same.
const parserFor = pg.types.getTypeParser as unknown as (oid: number, format: string) => (value: string) => unknown;
const parseTextArray = parserFor(TEXT_ARRAY, 'text') as (value: string) => string[];

/**
 * Type parsing for the plugin's own queries, independent of what an application did to pg's global
 * parsers on a shared pool: int8 stays text (parsed once, checked, below) and the common empty tag array
 * skips the array parser. jsonb is always selected cast to text (the server renders it), so it never goes
 * through JSON.parse: a replay hands the serializer the text it would parse anyway.
 */
export const ROW_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8) return identity;
    if (oid === TEXT_ARRAY) return parseTags;
    return parserFor(oid, format ?? 'text');
  }) as CustomTypesConfig['getTypeParser'],
};

function identity(value: string): string {
  return value;
}

/**
 * The last tag array parsed, by its text: the rows of a page by tag (and of one stream) mostly carry
 * the same tags, and parsing a text array per row was a tenth of a by-tag projection's own CPU.
 * Frozen, as it is shared between the rows.
 */
let lastTagsText = '{}';
let lastTags: readonly string[] = EMPTY;

function parseTags(value: string): readonly string[] {
  if (value === lastTagsText) return lastTags;
  const tags = value === '{}' ? EMPTY : Object.freeze(parseTextArray(value));
  lastTagsText = value;
  lastTags = tags;
  return tags;
}

/** int8 text to a JS number, refusing values that a number cannot hold exactly. */
export function toSafeNumber(value: string | number, column: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new UnsafeIntegerError(column, String(value));
  return n;
}

/** The stored payload: JSON text when the jsonb column is set, else the bytes. */
export function payloadOf(json: string | null, bytes: Uint8Array | null): string | Uint8Array {
  if (json !== null) return json;
  return bytes ?? new Uint8Array(0);
}
