import { SnapshotMetadata, SteadfastError, type StoredSnapshot } from '../../src/persistence/spi.js';
import { createHash } from 'node:crypto';

/**
 * Layout of one snapshot file:
 *   8 bytes  magic "SFSNAP01"
 *   4 bytes  header length (big-endian)
 *   header   UTF-8 JSON: persistenceId, sequenceNr, timestamp, serializerId, manifest, payload kind
 *   payload  the bytes, or the UTF-8 of the text
 *   32 bytes SHA-256 of everything before it
 * The rename in `save` already rules out torn files; the digest catches what rename cannot (a disk or
 * a copy that damaged the file later), so such a file is skipped instead of being handed to a serializer.
 */
const MAGIC = Buffer.from('SFSNAP01', 'latin1');
const DIGEST_LENGTH = 32;

interface Header {
  persistenceId: string;
  sequenceNr: number;
  timestamp: number;
  serializerId: string;
  manifest: string;
  kind: 'text' | 'binary';
}

export class CorruptSnapshotFileError extends SteadfastError {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super('ERR_CORRUPT_SNAPSHOT', `snapshot file ${file} cannot be read: ${reason}`);
  }
}

export function encodeSnapshotFile(stored: StoredSnapshot): Buffer {
  const { metadata, snapshot } = stored;
  const header: Header = {
    persistenceId: metadata.persistenceId,
    sequenceNr: metadata.sequenceNr,
    timestamp: metadata.timestamp,
    serializerId: snapshot.serializerId,
    manifest: snapshot.manifest,
    kind: typeof snapshot.payload === 'string' ? 'text' : 'binary',
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const payload =
    typeof snapshot.payload === 'string' ? Buffer.from(snapshot.payload, 'utf8') : Buffer.from(snapshot.payload.buffer, snapshot.payload.byteOffset, snapshot.payload.byteLength);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(headerBytes.length);
  const body = Buffer.concat([MAGIC, length, headerBytes, payload]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeSnapshotFile(file: string, data: Buffer): StoredSnapshot {
  const minimum = MAGIC.length + 4 + DIGEST_LENGTH;
  if (data.length < minimum) throw new CorruptSnapshotFileError(file, `only ${data.length} bytes`);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw new CorruptSnapshotFileError(file, 'not a steadfast snapshot file');
  const body = data.subarray(0, data.length - DIGEST_LENGTH);
  const digest = data.subarray(data.length - DIGEST_LENGTH);
  if (!createHash('sha256').update(body).digest().equals(digest)) throw new CorruptSnapshotFileError(file, 'checksum mismatch');
  const headerLength = body.readUInt32BE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > body.length) throw new CorruptSnapshotFileError(file, 'header runs past the end');
  let header: Header;
  try {
    header = JSON.parse(body.subarray(MAGIC.length + 4, headerEnd).toString('utf8')) as Header;
  } catch (error) {
    throw new CorruptSnapshotFileError(file, `header is not JSON (${(error as Error).message})`);
  }
  const payloadBytes = body.subarray(headerEnd);
  // A copy of its own, so the snapshot does not pin (or expose) the whole file buffer.
  const payload = header.kind === 'text' ? payloadBytes.toString('utf8') : new Uint8Array(payloadBytes);
  return {
    metadata: new SnapshotMetadata(header.persistenceId, header.sequenceNr, header.timestamp),
    snapshot: { serializerId: header.serializerId, manifest: header.manifest, payload },
  };
}
