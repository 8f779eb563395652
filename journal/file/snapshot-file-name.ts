import { createHash } from 'node:crypto';

/**
 * File names of snapshots: `snapshot-<id>-<sequenceNr>-<timestamp>`.
 *
 * `<id>` keeps `a-z 0-9 _ .` and writes every other UTF-8 byte as `%XX` (upper-case hex). Because
 * letters are kept only in lower case, two ids never map to names that differ only in case, so the
 * scheme is safe on case-insensitive file systems too; and because `-` is always escaped, the name
 * splits unambiguously. Ids whose encoding would make a name too long for common file systems
 * (255 bytes) are written as `~` + SHA-256 of the id; the file itself records the real id, which is
 * checked on load.
 */
const MAX_ENCODED_ID = 160;
const PREFIX = 'snapshot-';

export function encodePersistenceId(persistenceId: string): string {
  let out = '';
  for (const byte of Buffer.from(persistenceId, 'utf8')) {
    const isLiteral = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === 0x2e;
    out += isLiteral ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > MAX_ENCODED_ID) return `~${createHash('sha256').update(persistenceId, 'utf8').digest('hex')}`;
  }
  // "." and ".." are names of their own; the prefix already keeps us clear of them, this keeps the
  // empty id from producing "snapshot--1-2", which would still parse, but reads like a mistake.
  return out === '' ? '%' : out;
}

/** The prefix every snapshot file of this persistenceId starts with (and no other id's does). */
export function snapshotFilePrefix(persistenceId: string): string {
  return `${PREFIX}${encodePersistenceId(persistenceId)}-`;
}

export function snapshotFileName(persistenceId: string, sequenceNr: number, timestamp: number): string {
  return `${snapshotFilePrefix(persistenceId)}${sequenceNr}-${timestamp}`;
}

export interface ParsedSnapshotName {
  readonly fileName: string;
  readonly sequenceNr: number;
  readonly timestamp: number;
}

/** Parses the tail of a file name that starts with `prefix`; undefined for anything else. */
export function parseSnapshotFileName(fileName: string, prefix: string): ParsedSnapshotName | undefined {
  if (!fileName.startsWith(prefix)) return undefined;
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(fileName.slice(prefix.length));
  if (match === null) return undefined;
  const sequenceNr = Number(match[1]);
  const timestamp = Number(match[2]);
  if (!Number.isSafeInteger(sequenceNr) || !Number.isSafeInteger(timestamp)) return undefined;
  return { fileName, sequenceNr, timestamp };
}
