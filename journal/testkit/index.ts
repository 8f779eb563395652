/**
 * `steadfast/testkit`: the plugin TCK (call `journalSpec` / `snapshotStoreSpec` from a vitest test
 * file to check a plugin against the contract every steadfast store must keep), a `TestProbe`, and a
 * fault-injecting `TestJournal` for testing your own persistent actors (Akka's Persistence.TestKit).
 */
export { journalSpec, type JournalSpecOptions } from './journal-spec.js';
export { leaseSpec, type LeaseSpecOptions, type LeasingJournal } from './lease-spec.js';
export { offsetStoreSpec } from './offset-store-spec.js';
export { readJournalSpec, type ReadJournalSpecOptions } from './read-journal-spec.js';
export { snapshotStoreSpec, type SnapshotStoreSpecOptions } from './snapshot-store-spec.js';
export type { JsonComparison } from './fixtures.js';
export { TestProbe, TestProbeError } from './test-probe.js';
export {
  decodeEvent,
  TestJournal,
  TestJournalFault,
  type CallFilter,
  type HeldCalls,
  type ReplayCall,
  type ReplayInterceptor,
  type TestJournalRule,
  type WriteInterceptor,
} from './test-journal.js';
