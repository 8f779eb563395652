import { InvalidOptionError } from '../../src/persistence/spi.js';

/** The arguments every offset store refuses alike (the TCK checks it). */
export function checkOffsetArguments(projection: string, offset?: number): void {
  if (typeof projection !== 'string' || projection.length === 0) throw new InvalidOptionError(`a projection name is a non-empty string, got ${JSON.stringify(projection)}`);
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) throw new InvalidOptionError(`an offset is an integer >= 0, got ${String(offset)}`);
}
