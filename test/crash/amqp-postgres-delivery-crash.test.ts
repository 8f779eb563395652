/**
 * At-least-once delivery over RabbitMQ survives SIGKILLs of either side: a sender process (Outbox on
 * its own SQLite journal, amqpTransport) and a receiver process (amqpEntityConsumer with
 * DeduplicatingEntity accounts on their own SQLite journal) are killed at random moments mid-stream
 * and restarted. At the end, read back from both journals: every message applied exactly once, none
 * missing, nothing unconfirmed at the sender.
 *
 * CI: 3000 messages, 20 kills. STEADFAST_SOAK=1: 20 000 messages, 100 kills.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ActorSystem, Outbox, type OutboxStats } from '../../src/index.js';
import { amqpTransport, EntityEnvelope, EntityRouter, GetEntityState } from '../../delivery/amqp/index.js';
import { amqpResource, postgresResource } from '../support/services.js';
import { AccountEntity, type AccountState } from '../delivery/amqp/account-entity.js';
import { FixtureProcess } from '../delivery/amqp/child-process.js';
import { openJournal, type JournalConfig } from './fixtures/amqp-journals.js';
import type { ReceiverConfig } from './fixtures/amqp-receiver.js';
import type { SenderConfig } from './fixtures/amqp-sender.js';

const soak = process.env.STEADFAST_SOAK === '1';
const TOTAL = soak ? 20_000 : 3000;
const KILLS = soak ? 100 : 20;
const ACCOUNTS = 16;
const amqp = await amqpResource('amqp delivery crash');
const pg = await postgresResource('amqp delivery crash');
const silent = pino({ level: 'silent' });
const senderFixture = fileURLToPath(new URL('./fixtures/amqp-sender.ts', import.meta.url));
const receiverFixture = fileURLToPath(new URL('./fixtures/amqp-receiver.ts', import.meta.url));

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** Kills the victim once it has made `progress` more units of work after `ready`, or after `patienceMs` if it makes none. */
async function killAfterProgress(victim: FixtureProcess, pattern: RegExp, progress: number, patienceMs: number): Promise<boolean> {
  const ready = victim.lines.findIndex((line) => line.startsWith('ready'));
  let base: number | undefined;
  const midStream = await victim
    .waitFor(
      pattern,
      patienceMs,
      (match) => {
        const value = Number(match[1]);
        base ??= value;
        return value - base >= progress;
      },
      Math.max(0, ready),
    )
    .then(
      () => true,
      // No progress within patience (e.g. the stream is through for now): a kill at this moment is just as valid.
      () => false,
    );
  await victim.kill();
  return midStream;
}

describe.runIf(amqp)('at-least-once delivery over RabbitMQ under SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-amqp-delivery-crash-'));
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await amqp?.cleanup();
    await pg?.cleanup();
  });

  // The sender runs once on SQLite and once on PostgreSQL (issue: both journals under SIGKILL); the
  // receiver keeps its own SQLite file in both runs.
  it(`delivers ${TOTAL} messages exactly once through ${KILLS} kills (sender on SQLite)`, { timeout: soak ? 1_800_000 : 300_000 }, () =>
    runCrash('sqlite', { kind: 'sqlite', path: join(dir, 'sender.db') }),
  );

  it.runIf(pg)(`delivers ${TOTAL} messages exactly once through ${KILLS} kills (sender on PostgreSQL)`, { timeout: soak ? 1_800_000 : 300_000 }, () =>
    runCrash('postgres', { kind: 'postgres', connectionString: pg!.connectionString, schema: pg!.schema }),
  );

  async function runCrash(label: string, senderJournal: JournalConfig): Promise<void> {
    const queue = amqp!.name(`crash-${label}`);
    amqp!.name(`crash-${label}.dead-letter`);
    const receiverJournal: JournalConfig = { kind: 'sqlite', path: join(dir, `receiver-${label}.db`) };
    const senderConfig: SenderConfig = {
      url: amqp!.url,
      journal: senderJournal,
      queue,
      serviceName: `${amqp!.prefix}crash-sender-${label}`,
      replyQueue: amqp!.name(`crash-${label}.replies`),
      total: TOTAL,
      accounts: ACCOUNTS,
      redeliverIntervalMs: 1000,
      window: 32,
      startTimeoutMs: 5000,
      // Long enough a stream that every kill lands in the middle of it.
      ratePerSecond: soak ? 120 : 150,
    };
    const receiverConfig: ReceiverConfig = { url: amqp!.url, journal: receiverJournal, queue, prefetch: 64 };
    let duplicates = 0;
    const startSender = () => new FixtureProcess(senderFixture, senderConfig, 'sender');
    const startReceiver = () => new FixtureProcess(receiverFixture, receiverConfig, 'receiver');
    let sender = startSender();
    let receiver = startReceiver();
    const schedule = Array.from({ length: KILLS }, (_, i) => (i % 2 === 0 ? 'sender' : 'receiver')).sort(() => Math.random() - 0.5);
    const kills = { sender: 0, receiver: 0, midStream: 0 };
    try {
      await Promise.all([sender.waitFor(/^ready/, 30_000), receiver.waitFor(/^ready$/, 30_000)]);
      for (const victim of schedule) {
        if (victim === 'sender') {
          if (await killAfterProgress(sender, /^accepted (\d+)$/, randomInt(10, 120), 2000)) kills.midStream++;
          sender = startSender();
          await sender.waitFor(/^ready/, 30_000);
        } else {
          if (await killAfterProgress(receiver, /^progress (\d+) \d+$/, randomInt(1, 150), 2000)) kills.midStream++;
          duplicates += Number(receiver.last(/^progress \d+ (\d+)$/)?.[1] ?? 0);
          receiver = startReceiver();
          await receiver.waitFor(/^ready$/, 30_000);
        }
        kills[victim]++;
      }
      await sender.waitFor(/^done$/, soak ? 1_200_000 : 180_000);
    } finally {
      await sender.stop();
      await receiver.stop();
    }
    duplicates += Number(receiver.last(/^progress \d+ (\d+)$/)?.[1] ?? 0);

    // Read back from the journals, in this process: the receiver's accounts and the sender's outbox.
    const counts = new Map<number, number>();
    const verifyReceiver = ActorSystem.create('verify-receiver', { ...openJournal(receiverJournal), logger: silent });
    try {
      const router = verifyReceiver.actorOf(() => new EntityRouter({ entityFactory: (id) => new AccountEntity(id) }), 'accounts');
      for (let a = 0; a < ACCOUNTS; a++) {
        const state = await verifyReceiver.ask<AccountState>(router, new EntityEnvelope(`acct-${a}`, GetEntityState.instance), 30_000);
        for (const n of state.applied) counts.set(n, (counts.get(n) ?? 0) + 1);
      }
    } finally {
      await verifyReceiver.terminate();
    }
    const transport = amqpTransport({
      url: amqp!.url,
      serviceName: `${amqp!.prefix}crash-verify-${label}`,
      replyQueue: amqp!.name(`crash-${label}.verify.replies`),
      logger: silent,
    });
    const verifySender = ActorSystem.create('verify-sender', { ...openJournal(senderJournal), transports: [transport], logger: silent });
    let stats: OutboxStats;
    try {
      stats = await Outbox.start(verifySender, { name: 'outbox' }).stats();
    } finally {
      await verifySender.terminate();
    }

    let lost = 0;
    let twice = 0;
    for (let n = 1; n <= TOTAL; n++) {
      const count = counts.get(n) ?? 0;
      if (count === 0) lost++;
      if (count > 1) twice++;
    }
    const delivered = [...counts.keys()].filter((n) => n >= 1 && n <= TOTAL).length;
    console.log(
      `[sender on ${label}] delivered ${delivered}, lost ${lost}, applied twice ${twice}, redelivered ${duplicates} (kills: sender ${kills.sender}, receiver ${kills.receiver}, ${kills.midStream} of them mid-stream)`,
    );
    expect(kills.sender + kills.receiver).toBeGreaterThanOrEqual(20);
    expect({ delivered, lost, twice, unexpected: counts.size - delivered }).toEqual({ delivered: TOTAL, lost: 0, twice: 0, unexpected: 0 });
    expect(stats).toMatchObject({ accepted: TOTAL, confirmed: TOTAL, inFlight: 0 });
  }
});
