import { InvalidOptionError } from '../actor/errors.js';
import type { SnapshotMetadata } from './snapshot-metadata.js';

export interface SnapshotSelectionCriteriaOptions {
  maxSequenceNr?: number;
  maxTimestamp?: number;
  minSequenceNr?: number;
  minTimestamp?: number;
}

/**
 * Which snapshots a load or delete applies to: those whose sequence number and timestamp both lie in
 * the closed ranges given (Akka's SnapshotSelectionCriteria). Loading picks the newest that matches.
 */
export class SnapshotSelectionCriteria {
  static readonly latest = new SnapshotSelectionCriteria();
  static readonly none = new SnapshotSelectionCriteria({ maxSequenceNr: 0, maxTimestamp: 0 });

  readonly maxSequenceNr: number;
  readonly maxTimestamp: number;
  readonly minSequenceNr: number;
  readonly minTimestamp: number;

  constructor(options: SnapshotSelectionCriteriaOptions = {}) {
    this.maxSequenceNr = checkBound('maxSequenceNr', options.maxSequenceNr, Number.MAX_SAFE_INTEGER);
    this.maxTimestamp = checkBound('maxTimestamp', options.maxTimestamp, Number.MAX_SAFE_INTEGER);
    this.minSequenceNr = checkBound('minSequenceNr', options.minSequenceNr, 0);
    this.minTimestamp = checkBound('minTimestamp', options.minTimestamp, 0);
    Object.freeze(this);
  }

  matches(metadata: SnapshotMetadata): boolean {
    return (
      metadata.sequenceNr <= this.maxSequenceNr && metadata.timestamp <= this.maxTimestamp && metadata.sequenceNr >= this.minSequenceNr && metadata.timestamp >= this.minTimestamp
    );
  }

  /** The same criteria, but never past `toSequenceNr` (recovery up to a given event uses this). */
  limitTo(toSequenceNr: number): SnapshotSelectionCriteria {
    if (toSequenceNr >= this.maxSequenceNr) return this;
    return new SnapshotSelectionCriteria({ ...this.toOptions(), maxSequenceNr: toSequenceNr });
  }

  toOptions(): Required<SnapshotSelectionCriteriaOptions> {
    return {
      maxSequenceNr: this.maxSequenceNr,
      maxTimestamp: this.maxTimestamp,
      minSequenceNr: this.minSequenceNr,
      minTimestamp: this.minTimestamp,
    };
  }
}

function checkBound(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(`SnapshotSelectionCriteria.${name} must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}
