import { InvalidOptionError } from '../actor/errors.js';
import { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';

export interface RecoveryOptions {
  /** Which snapshot to start from. Default: the latest. */
  fromSnapshot?: SnapshotSelectionCriteria;
  /** Replay events up to and including this sequence number. Default: all. */
  toSequenceNr?: number;
  /** Replay at most this many events. Default: no limit. */
  replayMax?: number;
}

/** How a persistent actor recovers (Akka's Recovery). */
export class Recovery {
  static readonly default = new Recovery();
  /** No snapshot, no replay; the actor still learns its highest sequence number, so numbering continues. */
  static readonly none = new Recovery({ fromSnapshot: SnapshotSelectionCriteria.none, toSequenceNr: 0 });

  readonly fromSnapshot: SnapshotSelectionCriteria;
  readonly toSequenceNr: number;
  readonly replayMax: number;

  constructor(options: RecoveryOptions = {}) {
    this.fromSnapshot = options.fromSnapshot ?? SnapshotSelectionCriteria.latest;
    this.toSequenceNr = checkCount('toSequenceNr', options.toSequenceNr);
    this.replayMax = checkCount('replayMax', options.replayMax);
    Object.freeze(this);
  }

  get isNone(): boolean {
    return this.toSequenceNr === 0 && this.fromSnapshot.maxSequenceNr === 0;
  }
}

function checkCount(name: string, value: number | undefined): number {
  if (value === undefined) return Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(`Recovery.${name} must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}
