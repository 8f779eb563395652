/**
 * PostgreSQL array literals built by hand for the write path: one string per column instead of pg's
 * generic per-element conversion, which quotes and regex-escapes every number. Measurably cheaper at
 * group-commit batch sizes (thousands of rows per statement).
 */

const NEEDS_ESCAPE = /["\\]/;

export function quoteElement(value: string): string {
  return NEEDS_ESCAPE.test(value) ? `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${value}"`;
}

export function textArray(values: readonly (string | null)[]): string {
  // The usual batch (no NULL, nothing to escape: ids, uuids, manifests) as one join: one flat string
  // instead of a rope of two pieces per element.
  let plain = true;
  for (let i = 0; i < values.length && plain; i++) {
    const value = values[i];
    plain = typeof value === 'string' && !NEEDS_ESCAPE.test(value);
  }
  if (plain) return values.length === 0 ? '{}' : `{"${values.join('","')}"}`;
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    out += value === null || value === undefined ? 'NULL' : quoteElement(value);
  }
  return `${out}}`;
}

export function intArray(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

export function byteaArray(values: readonly (Uint8Array | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) {
      out += 'NULL';
    } else {
      const buffer = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      // Inside an array literal the bytea hex prefix needs its backslash escaped once more.
      out += `"\\\\x${buffer.toString('hex')}"`;
    }
  }
  return `${out}}`;
}

/** One row's tags as the text of a text[] literal, to travel as one element of a text[] column. */
export function tagsLiteral(tags: readonly string[]): string {
  if (tags.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < tags.length; i++) {
    if (i > 0) out += ',';
    out += quoteElement(tags[i]!);
  }
  return `${out}}`;
}
