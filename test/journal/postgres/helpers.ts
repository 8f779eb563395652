import { randomUUID } from 'node:crypto';
import type { AtomicWrite, PersistentRepr } from '../../../src/persistence/persistent-repr.js';

export function event(persistenceId: string, sequenceNr: number, overrides: Partial<PersistentRepr> = {}): PersistentRepr {
  return {
    persistenceId,
    sequenceNr,
    writerUuid: 'writer-1',
    timestamp: 1_700_000_000_000 + sequenceNr,
    tags: [],
    serializerId: 'json',
    manifest: 'Test.v1',
    payload: JSON.stringify({ persistenceId, sequenceNr }),
    ...overrides,
  };
}

export function write(persistenceId: string, from: number, to = from, overrides: Partial<PersistentRepr> = {}): AtomicWrite {
  const events: PersistentRepr[] = [];
  for (let nr = from; nr <= to; nr++) events.push(event(persistenceId, nr, overrides));
  return { persistenceId, events };
}

export function pid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** An application_name of this test alone, so backends can be found (and terminated) without touching anyone else's. */
export function appName(label: string): string {
  return `sf-${label}-${process.pid}-${randomUUID().slice(0, 6)}`;
}
