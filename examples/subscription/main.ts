/**
 * `npm run example:subscription`: the SubscriptionActor through three lives of the program, on the
 * SQLite journal and snapshot store in a temporary directory (or DATA_DIR):
 *   1. upgrade free -> basic (events persisted, reply after onComplete; the read-model projection
 *      follows from the journal);
 *   2. a new actor system recovers from the events, takes a snapshot, upgrades basic -> pro;
 *   3. a new actor system recovers from the snapshot plus the one event after it; the projection
 *      resumes after its stored offset.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ActorSystem, type SaveSnapshotSuccess, type ActorRef } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';
import { GetSubscription, SubscriptionActor, TakeSnapshot, type UpgradeComplete, type UpgradeRejected, UpgradeSubscription, type SubscriptionView } from './subscription-actor.js';
import { SubscriptionReadModel, tagSubscriptions } from './read-model.js';
import type { SubscriptionState } from './subscription-state.js';

const ownDir = process.env.DATA_DIR === undefined;
const dir = process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'steadfast-subscription-'));
const path = join(dir, 'subscription.db');

/** The query side (EF Core in the seed), kept by a projection: it lives as long as this program. */
const readModel = new SubscriptionReadModel();
const notifier = {
  async upgraded(id: string, state: SubscriptionState) {
    console.log(`  [email] subscription ${id} is now on ${state.plan} with ${state.seats} seat(s)`);
  },
};

async function life<T>(title: string, body: (subscription: ActorRef) => Promise<T>): Promise<T> {
  console.log(title);
  const system = ActorSystem.create('subscriptions', {
    journal: sqliteJournal({ path }),
    snapshotStore: sqliteSnapshotStore({ path }),
    logger: pino({ level: 'warn' }),
    persistence: { eventAdapters: [tagSubscriptions] },
  });
  readModel.start(system);
  try {
    return await body(system.actorOf(() => new SubscriptionActor('42', notifier), 'subscription-42'));
  } finally {
    await system.terminate();
  }
}

function describeView(view: SubscriptionView): string {
  return `plan=${view.state.plan} seats=${view.state.seats} lastSequenceNr=${view.lastSequenceNr} snapshotAt=${view.recoveredFromSnapshotAt} eventsReplayed=${view.eventsReplayed}`;
}

try {
  await life('1. first start: upgrade free -> basic', async (subscription) => {
    const reply = await subscription.ask<UpgradeComplete>(new UpgradeSubscription('basic', 3));
    console.log(`  reply: UpgradeComplete plan=${reply.state.plan} seats=${reply.state.seats}`);
    console.log(`  read model (projected): ${JSON.stringify(await readModel.until('42', (state) => state.plan === 'basic' && state.seats === 3))}`);
    const rejected = await subscription.ask<UpgradeRejected>(new UpgradeSubscription('free', 1));
    console.log(`  reply: UpgradeRejected (${rejected.reason}); nothing persisted`);
  });

  await life('2. restart: recover from events, snapshot, upgrade basic -> pro', async (subscription) => {
    const view = await subscription.ask<SubscriptionView>(new GetSubscription());
    console.log(`  recovered from events: ${describeView(view)}`);
    const saved = await subscription.ask<SaveSnapshotSuccess>(new TakeSnapshot());
    console.log(`  snapshot saved at sequenceNr ${saved.metadata.sequenceNr}`);
    const reply = await subscription.ask<UpgradeComplete>(new UpgradeSubscription('pro', 10));
    console.log(`  reply: UpgradeComplete plan=${reply.state.plan} seats=${reply.state.seats}`);
  });

  await life('3. restart: recover from the snapshot and the events after it', async (subscription) => {
    const view = await subscription.ask<SubscriptionView>(new GetSubscription());
    console.log(`  recovered from snapshot: ${describeView(view)}`);
    console.log(`  read model (projected): ${JSON.stringify(await readModel.until('42', (state) => state.plan === 'pro' && state.seats === 10))}`);
  });
  console.log('done');
} finally {
  if (ownDir) rmSync(dir, { recursive: true, force: true });
}
