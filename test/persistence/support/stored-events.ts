import type { AsyncWriteJournal, PersistentRepr } from '../../../src/index.js';

/** Reads back every stored event of `persistenceId` (through the SPI, as a plugin user would). */
export async function storedEvents(journal: AsyncWriteJournal, persistenceId: string): Promise<PersistentRepr[]> {
  const events: PersistentRepr[] = [];
  await journal.replayMessages(persistenceId, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (event) => {
    events.push(event);
  });
  return events;
}

/** The JSON payloads of the stored events, parsed. */
export async function storedPayloads(journal: AsyncWriteJournal, persistenceId: string): Promise<unknown[]> {
  return (await storedEvents(journal, persistenceId)).map((event) => JSON.parse(event.payload as string) as unknown);
}
