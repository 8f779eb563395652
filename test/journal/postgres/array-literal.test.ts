import { afterAll, describe, expect, it } from 'vitest';
import { byteaArray, intArray, tagsLiteral, textArray } from '../../../journal/postgres/array-literal.js';
import { postgresResource } from '../../support/services.js';

const pgr = await postgresResource('array_literal');
afterAll(async () => pgr?.cleanup());

/** What PostgreSQL reads the literal as. */
async function parsed<T>(literal: string, type: string): Promise<T[]> {
  const { rows } = await pgr!.admin.query<{ value: T[] }>(`select $1::${type} as value`, [literal]);
  return rows[0]!.value;
}

describe.runIf(pgr)('array literals of the write path, read back by PostgreSQL', () => {
  it('text arrays: plain values, quotes and backslashes, NULL, empty strings, commas and braces', async () => {
    const plain = ['outbox@Q2x9', 'json', 'OrderPlaced@1', 'writer-0001'];
    expect(await parsed(textArray(plain), 'text[]')).toEqual(plain);
    const awkward = ['say "hi"', 'back\\slash', '', 'a,b', '{braces}', 'NULL', ' spaced '];
    expect(await parsed(textArray(awkward), 'text[]')).toEqual(awkward);
    expect(await parsed(textArray(['x', null, 'y']), 'text[]')).toEqual(['x', null, 'y']);
    expect(await parsed(textArray([]), 'text[]')).toEqual([]);
  });

  it('integer, bytea and tags literals', async () => {
    expect(await parsed(intArray([1, 2, 9_007_199_254_740_991]), 'int8[]')).toEqual(['1', '2', '9007199254740991']);
    const bytes = await parsed<Buffer>(byteaArray([Buffer.from([0, 1, 255]), null]), 'bytea[]');
    expect(bytes[0]).toEqual(Buffer.from([0, 1, 255]));
    expect(bytes[1]).toBeNull();
    expect(await parsed(tagsLiteral(['a "b"', 'c\\d']), 'text[]')).toEqual(['a "b"', 'c\\d']);
  });
});
