/**
 * The bare library's plugin defaults are wired by the `steadfast` entry point's ActorSystem.create,
 * not installed as a side effect of an import: the core's own ActorSystem (a deep import) has none and
 * says so with a SteadfastError, while the entry point's gives the in-memory journal and file snapshots.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem as CoreActorSystem } from '../../src/actor/actor-system.js';
import { Persistence } from '../../src/persistence/persistence.js';
import { ActorSystem, FileSnapshotStore, InMemoryJournal, NoJournalConfiguredError, inMemoryJournal } from '../../src/index.js';

const silent = pino({ level: 'silent' });
const systems: CoreActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()));
});

describe('default plugins', () => {
  it('the core ActorSystem has none: using persistence fails with ERR_NO_JOURNAL', () => {
    const system = CoreActorSystem.create('core', { logger: silent });
    systems.push(system);
    expect(() => Persistence.get(system)).toThrow(NoJournalConfiguredError);
    expect(() => Persistence.get(system)).toThrow(expect.objectContaining({ code: 'ERR_NO_JOURNAL' }));
  });

  it('the entry point’s ActorSystem fills in what the options leave out, and keeps what they give', () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), 'steadfast-defaults-'));
    process.chdir(dir);
    try {
      const bare = ActorSystem.create('bare', { logger: silent });
      systems.push(bare);
      expect(bare).toBeInstanceOf(CoreActorSystem);
      expect(Persistence.get(bare).journal).toBeInstanceOf(InMemoryJournal);
      expect(Persistence.get(bare).snapshotStore).toBeInstanceOf(FileSnapshotStore);
      const journal = inMemoryJournal({ logger: silent });
      const given = ActorSystem.create('given', { logger: silent, journal });
      systems.push(given);
      expect(Persistence.get(given).journal).toBe(journal);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
