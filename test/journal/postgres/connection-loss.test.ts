import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal } from '../../../journal/postgres/index.js';
import type { PostgresLogger } from '../../../journal/postgres/index.js';
import { postgresResource } from '../../support/services.js';
import { appName, write } from './helpers.js';

const pgr = await postgresResource('pg_connloss');
afterAll(() => pgr?.cleanup());

/** A counter that promises can wait on, so the test reacts to progress instead of sleeping. */
class Progress {
  value = 0;
  #waiters: { target: number; resolve: () => void }[] = [];
  add(n = 1): void {
    this.value += n;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.value < w.target) return true;
      w.resolve();
      return false;
    });
  }
  reach(target: number, timeoutMs = 20_000): Promise<void> {
    if (this.value >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`progress stuck at ${this.value} < ${target}`)), timeoutMs);
      this.#waiters.push({
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

describe.runIf(pgr)('postgresJournal when its connections die', () => {
  it('fails in-flight writes, recovers by itself, loses no acknowledged write and duplicates nothing', { timeout: 90_000 }, async () => {
    const application = appName('connloss');
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (obj: unknown) => warnings.push(obj) } as unknown as PostgresLogger;
    const journal = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: application, poolSize: 4, logger });
    await journal.start();

    const writers = 40;
    const acked = new Map<string, Set<number>>();
    const errored = new Map<string, Set<number>>();
    const failedOutcomes: string[] = [];
    const progress = new Progress();
    const errors = new Progress();
    let stop = false;

    // Each writer behaves like a persistent actor under a backoff supervisor: after a failed write it
    // asks the journal for its highest sequence number (a committed write whose ack was lost shows up
    // there) and continues after it.
    const runWriter = async (id: string): Promise<void> => {
      acked.set(id, new Set());
      errored.set(id, new Set());
      let next = 1;
      while (!stop) {
        try {
          const [outcome] = await journal.writeMessages([write(id, next)]);
          if (outcome!.status !== 'ok') {
            failedOutcomes.push(`${id}/${next}: ${outcome!.status}`);
            return;
          }
          acked.get(id)!.add(next);
          next++;
          progress.add();
        } catch {
          errored.get(id)!.add(next);
          errors.add();
          for (;;) {
            try {
              next = (await journal.readHighestSequenceNr(id, 0)) + 1;
              break;
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 5)); // backoff while connections are re-made
            }
          }
        }
      }
    };

    const ids = Array.from({ length: writers }, (_, i) => `connloss-${i}`);
    const running = Promise.all(ids.map(runWriter));
    // Kills land at random points of the write cycle, some between statements; go on until enough of
    // them hit writes in flight (bounded, so a plugin that never fails a write cannot loop forever).
    let kills = 0;
    let terminated = 0;
    while (kills < 6 || (errors.value < 5 && kills < 300)) {
      kills++;
      await progress.reach(progress.value + 100);
      const result = await pgr!.admin.query(`select pg_terminate_backend(pid) as done from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()`, [
        application,
      ]);
      terminated += result.rows.filter((r: { done: boolean }) => r.done).length;
    }
    // The plugin must come back without a restart: acknowledged writes keep flowing after the last kill.
    await progress.reach(progress.value + 500);
    stop = true;
    await running;
    await journal.close();

    expect(terminated).toBeGreaterThanOrEqual(kills);
    expect(errors.value).toBeGreaterThanOrEqual(5); // the kills did hit writes in flight
    expect(failedOutcomes).toEqual([]); // connection errors reject the call; they are never reported as conflicts

    const rows = await pgr!.admin.query<{ persistence_id: string; sequence_nr: string }>(
      `select persistence_id, sequence_nr from "${pgr!.schema}".journal order by persistence_id, sequence_nr`,
    );
    const stored = new Map<string, number[]>();
    for (const row of rows.rows) {
      const list = stored.get(row.persistence_id) ?? [];
      list.push(Number(row.sequence_nr));
      stored.set(row.persistence_id, list);
    }
    let ambiguous = 0;
    for (const id of ids) {
      const seqs = stored.get(id) ?? [];
      // No holes and no duplicates: exactly 1..n.
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      const have = new Set(seqs);
      for (const nr of acked.get(id)!) expect(have.has(nr), `acknowledged ${id}/${nr} is missing`).toBe(true);
      for (const nr of seqs) {
        if (acked.get(id)!.has(nr)) continue;
        // Committed, but the connection died before the acknowledgement arrived: the at-least-once
        // ambiguity of any database client. It must be a write that was reported as an error.
        expect(errored.get(id)!.has(nr), `${id}/${nr} stored but neither acknowledged nor reported failed`).toBe(true);
        ambiguous++;
      }
    }
    expect(ambiguous).toBeLessThanOrEqual(errors.value);
    console.info(
      `[connection loss] ${terminated} backends terminated in ${kills} rounds; ${progress.value} writes acknowledged, ` +
        `${errors.value} rejected with connection errors, ${ambiguous} of those committed anyway (ack lost), ` +
        `${warnings.length} idle-connection warnings logged`,
    );
  });

  it('fails writes while the server is unreachable and works again when it is back, without a restart', { timeout: 60_000 }, async () => {
    const target = new URL(pgr!.connectionString);
    const proxy = new OutageProxy(target.hostname, Number(target.port || 5432));
    const port = await proxy.up();
    const viaProxy = new URL(pgr!.connectionString);
    viaProxy.host = `127.0.0.1:${port}`;
    const journal = postgresJournal({ connectionString: viaProxy.toString(), schema: pgr!.schema, applicationName: appName('outage') });
    try {
      await journal.start();
      expect((await journal.writeMessages([write('outage', 1)]))[0]!.status).toBe('ok');

      await proxy.down();
      await expect(journal.writeMessages([write('outage', 2)])).rejects.toThrow();
      await expect(journal.ping()).rejects.toThrow();
      await expect(journal.readHighestSequenceNr('outage', 0)).rejects.toThrow();

      await proxy.up(port);
      await journal.ping();
      expect(await journal.readHighestSequenceNr('outage', 0)).toBe(1);
      expect((await journal.writeMessages([write('outage', 2)]))[0]!.status).toBe('ok');
    } finally {
      await journal.close();
      await proxy.down();
    }
  });
});

/** A TCP relay to PostgreSQL that can be taken down (listener closed, every connection cut) and brought back on the same port. */
class OutageProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  up(port = 0): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.port, this.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
