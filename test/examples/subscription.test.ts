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

  it('replies only after the read model was synced, and persists nothing for a rejected command', async () => {
    const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
    const snapshotStore = inMemorySnapshotStore();
    const synced: SubscriptionState[] = [];
    const readModel = {
      async sync(_id: string, state: SubscriptionState) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        synced.push(state);
      },
    };
    const notifier = { async upgraded() {} };
    const system = ActorSystem.create('sub', { journal, snapshotStore, logger: pino({ level: 'silent' }) });
    const actor = system.actorOf(() => new SubscriptionActor('7', readModel, notifier), 's');
    const reply = await actor.ask<UpgradeComplete>(new UpgradeSubscription('pro', 5));
    expect(reply).toBeInstanceOf(UpgradeComplete);
    expect(synced.at(-1)).toEqual({ plan: 'pro', seats: 5, upgrades: 1 });
    expect(await actor.ask(new UpgradeSubscription('basic', 1))).toBeInstanceOf(UpgradeRejected);
    expect((await actor.ask<SubscriptionView>(new GetSubscription())).lastSequenceNr).toBe(2);
    expect(await actor.ask(new TakeSnapshot())).toBeInstanceOf(SaveSnapshotSuccess);
    await system.terminate();

    const again = ActorSystem.create('sub', { journal, snapshotStore, logger: pino({ level: 'silent' }) });
    const view = await again.actorOf(() => new SubscriptionActor('7', readModel, notifier), 's').ask<SubscriptionView>(new GetSubscription());
    expect(view).toEqual({ state: { plan: 'pro', seats: 5, upgrades: 1 }, lastSequenceNr: 2, recoveredFromSnapshotAt: 2, eventsReplayed: 0 });
    await again.terminate();
  });
});
