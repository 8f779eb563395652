export { FileSnapshotStore, fileSnapshotStore, type FileSnapshotStoreOptions } from './file-snapshot-store.js';
export { CorruptSnapshotFileError } from './snapshot-file-format.js';
