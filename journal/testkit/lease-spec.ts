import { randomUUID } from 'node:crypto';
import type { AsyncWriteJournal } from '../../src/persistence/spi.js';
import { afterAll, describe, expect, it } from 'vitest';

/** A journal offering the optional lease SPI, `heldLeases` included. */
export type LeasingJournal = AsyncWriteJournal & Required<Pick<AsyncWriteJournal, 'acquireLease' | 'heldLeases'>>;

export interface LeaseSpecOptions {
  /** Per-test timeout in ms (default: vitest's). */
  timeoutMs?: number;
}

/**
 * The lease TCK: `acquireLease` and `heldLeases` as the SPI describes them, across journals on one
 * store. `factory` is called for every journal a test needs (each stands for a process of its own, with
 * sessions of its own), and the spec closes them. Lease names are fresh per run, so the store may be
 * shared with other suites.
 *
 *   leaseSpec('postgres', () => postgresJournal({ connectionString, schema }));
 */
export function leaseSpec(name: string, factory: () => LeasingJournal | Promise<LeasingJournal>, options: LeaseSpecOptions = {}): void {
  const timeout = options.timeoutMs;

  describe(`leaseSpec: ${name}`, () => {
    const journals: LeasingJournal[] = [];
    const run = randomUUID().slice(0, 8);
    const leaseName = (label: string): string => `tck/${run}/${label}`;

    async function journal(): Promise<LeasingJournal> {
      const created = await factory();
      journals.push(created);
      return created;
    }

    afterAll(async () => {
      await Promise.all(journals.map((created) => created.close()));
    });

    it('acquireLease is exclusive across journals and within one; release() frees the name', { timeout }, async () => {
      const [a, b] = [await journal(), await journal()];
      const lease = await a.acquireLease(leaseName('exclusive'));
      expect(lease?.held).toBe(true);
      expect(await b.acquireLease(leaseName('exclusive'))).toBeUndefined();
      expect(await a.acquireLease(leaseName('exclusive'))).toBeUndefined();
      await lease!.release();
      expect(lease!.held).toBe(false);
      const taken = await b.acquireLease(leaseName('exclusive'));
      expect(taken?.held).toBe(true);
      await taken!.release();
    });

    it('heldLeases names exactly the leases some session holds, and takes none', { timeout }, async () => {
      const [a, b] = [await journal(), await journal()];
      const names = [0, 1, 2, 3].map((index) => leaseName(`held:${index}`));
      const [free0, heldByA, heldByB, free3] = names as [string, string, string, string];
      const first = await a.acquireLease(heldByA);
      const second = await b.acquireLease(heldByB);
      expect(first?.held && second?.held).toBe(true);
      // The holder's own leases count as well as another journal's, whoever asks.
      expect(new Set(await a.heldLeases(names))).toEqual(new Set([heldByA, heldByB]));
      expect(new Set(await b.heldLeases([...names, heldByA]))).toEqual(new Set([heldByA, heldByB]));
      // Asking took nothing: a third journal can take every free name at once (and then sees it held).
      const c = await journal();
      for (const free of [free0, free3]) {
        const lease = await c.acquireLease(free);
        expect(lease?.held).toBe(true);
        expect((await a.heldLeases([free])).has(free)).toBe(true);
        await lease!.release();
      }
      await first!.release();
      expect(new Set(await c.heldLeases(names))).toEqual(new Set([heldByB]));
      await second!.release();
      expect((await c.heldLeases(names)).size).toBe(0);
      expect((await c.heldLeases([])).size).toBe(0);
    });
  });
}
