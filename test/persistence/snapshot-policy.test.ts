/**
 * SnapshotPolicy, the retention rule shared by the outbox and deduplicating entities (Akka Typed's
 * RetentionCriteria.snapshotEvery(n, keepN).withDeleteEventsOnSnapshot).
 */
import { describe, expect, it } from 'vitest';
import { SnapshotPolicy } from '../../src/persistence/snapshot-policy.js';

function take(policy: SnapshotPolicy, events: number): boolean {
  for (let i = 0; i < events; i++) policy.applied();
  return policy.takeIfDue();
}

describe('SnapshotPolicy', () => {
  it('takes one snapshot every N events, never two at once; a failed one is retried after the next N', () => {
    const policy = new SnapshotPolicy({ every: 3 });
    expect(take(policy, 2)).toBe(false);
    expect(take(policy, 1)).toBe(true);
    expect(take(policy, 5)).toBe(false); // the first is still being saved
    policy.failed(3);
    expect(policy.takeIfDue()).toBe(true); // 5 events since: due again at once
  });

  it('with more entries than N to hold, waits for about as many events as the snapshot holds entries', () => {
    const policy = new SnapshotPolicy({ every: 3 });
    // The first of an incarnation: after half as many events as it would hold.
    for (let i = 0; i < 3; i++) policy.applied();
    expect(policy.takeIfDue(40)).toBe(false); // 3 events, but the snapshot would hold 40 entries
    for (let i = 0; i < 16; i++) policy.applied();
    expect(policy.takeIfDue(40)).toBe(false);
    policy.applied();
    expect(policy.takeIfDue(40)).toBe(true); // 20 events since the last one
    policy.succeeded(20);
    // A steady backlog: one entry walked per event.
    for (let i = 0; i < 39; i++) policy.applied();
    expect(policy.takeIfDue(40)).toBe(false);
    policy.applied();
    expect(policy.takeIfDue(40)).toBe(true); // 40 events for 40 entries
    policy.succeeded(60);
    // A shrinking one: due once the smaller snapshot is.
    for (let i = 0; i < 11; i++) policy.applied();
    expect(policy.takeIfDue(12)).toBe(false);
    policy.applied();
    expect(policy.takeIfDue(12)).toBe(true);
    policy.succeeded(72);
    // A growing one (nothing confirmed): each time it has doubled, never stuck behind its own growth.
    for (let i = 0; i < 11; i++) policy.applied();
    expect(policy.takeIfDue(23)).toBe(false);
    policy.applied();
    expect(policy.takeIfDue(24)).toBe(true);
    policy.succeeded(84);
    // At most N entries: every N events as before.
    for (let i = 0; i < 3; i++) policy.applied();
    expect(policy.takeIfDue(2)).toBe(true);
  });

  it('keeps the newest `keep` snapshots (the recovered one counts) and deletes events only when asked', () => {
    const policy = new SnapshotPolicy({ every: 2, keep: 2 });
    policy.recovered(10);
    expect(policy.succeeded(12)).toEqual({});
    expect(policy.succeeded(14)).toEqual({ deleteSnapshotsTo: 11 });
    expect(policy.succeeded(16)).toEqual({ deleteSnapshotsTo: 13 });
  });

  it('deletes events below the lowest sequence number any kept snapshot needs, once', () => {
    const policy = new SnapshotPolicy({ every: 2, keep: 2, deleteEvents: true });
    policy.saving(2, 1); // references a payload at 1
    expect(policy.succeeded(2)).toEqual({});
    policy.saving(4, 3);
    expect(policy.succeeded(4)).toEqual({}); // snapshot 2 is still kept and needs 1
    policy.saving(6, 7);
    expect(policy.succeeded(6)).toEqual({ deleteSnapshotsTo: 3, deleteEventsTo: 2 });
    policy.eventsDeleted(2);
    policy.saving(8, 3); // an old payload still referenced: nothing more may go
    expect(policy.succeeded(8)).toEqual({ deleteSnapshotsTo: 5 });
    expect(policy.succeeded(10)).toEqual({ deleteSnapshotsTo: 7 }); // events to 2 are gone already
  });

  it('a failed deletion is asked again with the next snapshot', () => {
    const policy = new SnapshotPolicy({ every: 1, keep: 1, deleteEvents: true });
    expect(policy.succeeded(1)).toEqual({ deleteEventsTo: 1 });
    // No DeleteMessagesSuccess came: the next snapshot covers the earlier range too.
    expect(policy.succeeded(2)).toEqual({ deleteSnapshotsTo: 1, deleteEventsTo: 2 });
  });

  it('refuses settings that are not whole numbers', () => {
    expect(() => new SnapshotPolicy({ every: -1 })).toThrow(/snapshotEvery/);
    expect(() => new SnapshotPolicy({ every: 1, keep: 0 })).toThrow(/keepSnapshots/);
  });
});
