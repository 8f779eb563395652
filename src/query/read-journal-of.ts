import type { ActorSystem } from '../actor/actor-system.js';
import { Persistence } from '../persistence/persistence.js';
import { parseManifest } from '../persistence/serialization.js';
import type { OrderedRepr } from '../persistence/journal-queries.js';
import { isQueryable } from '../persistence/journal-queries.js';
import { QueriesNotSupportedError } from './query-errors.js';
import { ReadJournal } from './read-journal.js';

const readJournals = new WeakMap<Persistence, ReadJournal>();

/**
 * The `ReadJournal` of the system's journal (Akka's `PersistenceQuery.readJournalFor`): one per system,
 * decoding with the system's serializers and event adapters. Throws `QueriesNotSupportedError` when the
 * journal offers no queries.
 */
export function readJournalOf(system: ActorSystem): ReadJournal {
  const persistence = Persistence.get(system);
  const existing = readJournals.get(persistence);
  if (existing !== undefined) return existing;
  const journal = persistence.journal;
  if (!isQueryable(journal)) throw new QueriesNotSupportedError(journal.constructor.name);
  const { serialization, adapters } = persistence;
  const decode = (repr: OrderedRepr): readonly unknown[] => {
    const payload = serialization.deserialize(repr);
    return adapters.isEmpty ? [payload] : adapters.fromJournal(payload, parseManifest(repr.manifest));
  };
  const readJournal = new ReadJournal(journal.queries(), decode, persistence.settings.query);
  readJournals.set(persistence, readJournal);
  return readJournal;
}
