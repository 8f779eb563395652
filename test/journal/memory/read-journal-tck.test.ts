import { pino } from 'pino';
import { InMemoryJournal } from '../../../journal/memory/index.js';
import { offsetStoreSpec, readJournalSpec } from '../../../journal/testkit/index.js';

readJournalSpec('in-memory', () => new InMemoryJournal({ logger: pino({ level: 'silent' }) }));
offsetStoreSpec('in-memory', () => new InMemoryJournal({ logger: pino({ level: 'silent' }) }).offsetStore());
