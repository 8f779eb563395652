import type { AsyncWriteJournal, AtomicWrite, PersistentRepr, SerializedValue } from '../../src/persistence/spi.js';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';

let counter = 0;

/**
 * A persistenceId no other test uses, so every spec can share one store. It carries characters that
 * file names and URLs treat specially, so plugins that encode ids are exercised on every test.
 */
export function uniquePersistenceId(label: string): string {
  counter++;
  return `tck/${label}:é %-${counter}-${randomUUID().slice(0, 8)}`;
}

export const WRITER_UUID = randomUUID();

export function jsonEvent(persistenceId: string, sequenceNr: number, overrides: Partial<PersistentRepr> = {}): PersistentRepr {
  return {
    persistenceId,
    sequenceNr,
    writerUuid: WRITER_UUID,
    timestamp: 1_700_000_000_000 + sequenceNr,
    tags: [],
    serializerId: 'json',
    manifest: 'TestEvent.v1',
    payload: JSON.stringify({ persistenceId, sequenceNr, text: `event-${sequenceNr}` }),
    ...overrides,
  };
}

export function atomicWrite(persistenceId: string, from: number, to: number): AtomicWrite {
  const events: PersistentRepr[] = [];
  for (let nr = from; nr <= to; nr++) events.push(jsonEvent(persistenceId, nr));
  return { persistenceId, events };
}

/** Writes events `from..to`, one AtomicWrite per event, and insists that each was stored. */
export async function writeEvents(journal: AsyncWriteJournal, persistenceId: string, from: number, to: number): Promise<void> {
  const writes: AtomicWrite[] = [];
  for (let nr = from; nr <= to; nr++) writes.push(atomicWrite(persistenceId, nr, nr));
  const outcomes = await journal.writeMessages(writes);
  expect(outcomes.map((o) => o.status)).toEqual(writes.map(() => 'ok'));
}

export async function replayAll(
  journal: AsyncWriteJournal,
  persistenceId: string,
  from = 1,
  to = Number.MAX_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): Promise<PersistentRepr[]> {
  const seen: PersistentRepr[] = [];
  await journal.replayMessages(persistenceId, from, to, max, (event) => {
    seen.push(event);
  });
  return seen;
}

export function sequenceNrs(events: readonly PersistentRepr[]): number[] {
  return events.map((e) => e.sequenceNr);
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let nr = from; nr <= to; nr++) out.push(nr);
  return out;
}

/** Every byte value, twice, so an encoding that mangles any byte (or stops at NUL) shows. */
export function allBytes(): Uint8Array {
  const bytes = new Uint8Array(512);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
  return bytes;
}

/** Payloads must come back with the same kind (text or bytes) and the same content. */
export function expectSameSerialized(actual: SerializedValue, expected: SerializedValue, json: JsonComparison = 'exact'): void {
  expect(actual.serializerId).toBe(expected.serializerId);
  expect(actual.manifest).toBe(expected.manifest);
  if (typeof expected.payload === 'string') {
    expect(typeof actual.payload).toBe('string');
    if (json === 'exact') expect(actual.payload).toBe(expected.payload);
    else expect(JSON.parse(actual.payload as string)).toEqual(JSON.parse(expected.payload));
  } else {
    expect(actual.payload).toBeInstanceOf(Uint8Array);
    const got = actual.payload as Uint8Array;
    const want = expected.payload;
    if (want.length <= 4096) {
      expect(Array.from(got)).toEqual(Array.from(want));
    } else {
      // Large payloads: compare natively; a 1 MB element-wise diff would take most of a second.
      expect(got.length).toBe(want.length);
      expect(Buffer.compare(bytesView(got), bytesView(want))).toBe(0);
    }
  }
}

/** `semantic`: JSON text only has to parse to the same value (for stores such as PostgreSQL jsonb). */
export type JsonComparison = 'exact' | 'semantic';

export function expectSameEvent(actual: PersistentRepr, expected: PersistentRepr, json: JsonComparison = 'exact'): void {
  expectSameSerialized(actual, expected, json);
  expect(actual.persistenceId).toBe(expected.persistenceId);
  expect(actual.sequenceNr).toBe(expected.sequenceNr);
  expect(actual.writerUuid).toBe(expected.writerUuid);
  expect(actual.timestamp).toBe(expected.timestamp);
  // Tags are a set: a plugin may keep them in a table of its own and return them in another order.
  expect([...actual.tags].sort()).toEqual([...expected.tags].sort());
}

function bytesView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
