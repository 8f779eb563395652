/**
 * `steadfast/testkit`: the plugin TCK. Call `journalSpec` / `snapshotStoreSpec` from a vitest test
 * file to check a plugin against the contract every steadfast store must keep.
 */
export { journalSpec, type JournalSpecOptions } from './journal-spec.js';
export { snapshotStoreSpec, type SnapshotStoreSpecOptions } from './snapshot-store-spec.js';
export type { JsonComparison } from './fixtures.js';
export { TestProbe, TestProbeError } from './test-probe.js';
