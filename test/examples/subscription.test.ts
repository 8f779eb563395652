import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore, SaveSnapshotSuccess } from '../../src/index.js';
import {
  GetSubscription,
  SubscriptionActor,
  TakeSnapshot,
  UpgradeComplete,
  UpgradeRejected,
  UpgradeSubscription,
  type SubscriptionView,
} from '../../examples/subscription/subscription-actor.js';
import type { SubscriptionState } from '../../examples/subscription/subscription-state.js';
import { SubscriptionReadModel, tagSubscriptions } from '../../examples/subscription/read-model.js';
import { runExample } from './run-example.js';

describe('example: subscription', () => {
  it('runs as `npm run example:subscription` does: events, snapshot, recovery from both', async () => {
    const { code, stdout, stderr } = await runExample('examples/subscription/main.ts');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('reply: UpgradeComplete plan=basic seats=3');
    expect(stdout).toContain('recovered from events: plan=basic seats=3 lastSequenceNr=2 snapshotAt=0 eventsReplayed=2');
    expect(stdout).toContain('snapshot saved at sequenceNr 2');
    expect(stdout).toContain('recovered from snapshot: plan=pro seats=10 lastSequenceNr=4 snapshotAt=2 eventsReplayed=2');
    expect(stdout.trimEnd().endsWith('done')).toBe(true);
  });

  it('replies once the events are persisted; the projection builds the read model from the journal and resumes after its offset', async () => {
    const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
    const snapshotStore = inMemorySnapshotStore();
    const notified: SubscriptionState[] = [];
    const notifier = {
      async upgraded(_id: string, state: SubscriptionState) {
        notified.push(state);
      },
    };
    const options = { journal, snapshotStore, logger: pino({ level: 'silent' }), persistence: { eventAdapters: [tagSubscriptions] } };
    const readModel = new SubscriptionReadModel();
    const system = ActorSystem.create('sub', options);
    readModel.start(system);
    const actor = system.actorOf(() => new SubscriptionActor('7', notifier), 's');
    const reply = await actor.ask<UpgradeComplete>(new UpgradeSubscription('pro', 5));
    expect(reply).toBeInstanceOf(UpgradeComplete);
    expect(notified.at(-1)).toEqual({ plan: 'pro', seats: 5, upgrades: 1 });
    expect(await readModel.until('7', (state) => state.seats === 5)).toEqual({ plan: 'pro', seats: 5, upgrades: 1 });
    expect(await actor.ask(new UpgradeSubscription('basic', 1))).toBeInstanceOf(UpgradeRejected);
    expect((await actor.ask<SubscriptionView>(new GetSubscription())).lastSequenceNr).toBe(2);
    expect(await actor.ask(new TakeSnapshot())).toBeInstanceOf(SaveSnapshotSuccess);
    await system.terminate();

    // A new program: a fresh read model would start empty, but the projection resumes after its stored
    // offset, so only what happens now reaches it.
    const again = ActorSystem.create('sub', options);
    const fresh = new SubscriptionReadModel();
    fresh.start(again);
    const view = await again.actorOf(() => new SubscriptionActor('7', notifier), 's').ask<SubscriptionView>(new GetSubscription());
    expect(view).toEqual({ state: { plan: 'pro', seats: 5, upgrades: 1 }, lastSequenceNr: 2, recoveredFromSnapshotAt: 2, eventsReplayed: 0 });
    await again.actorOf(() => new SubscriptionActor('8', notifier), 's8').ask(new UpgradeSubscription('basic', 2));
    expect(await fresh.until('8', (state) => state.seats === 2)).toEqual({ plan: 'basic', seats: 2, upgrades: 1 });
    expect(fresh.get('7')).toBeUndefined();
    await again.terminate();
  });
});
