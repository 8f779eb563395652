/**
 * Who a delivering actor is on the wire. A persistenceId alone is not enough: two services both have an
 * `outbox`, and a store created anew numbers its deliveries from 1 again, so a deduplicating receiver
 * would take their deliveries for one another and drop some. On the wire a sender is therefore
 * `${persistenceId}@${storeId}`, where the store id is random, created once per (store, persistenceId)
 * and kept in that store, in a small stream of its own next to the actor's events (or given by
 * configuration). The same stream holds a random secret: the per-delivery confirmation tokens are
 * derived from it and the delivery's key (see `TokenSource`), so a confirmation proves that its
 * sender saw the delivery, and nothing per delivery has to be stored.
 *
 * Deliveries made before this identity existed (an upgrade) keep their old key, the bare persistenceId:
 * each identity record names the sequence number from which it applies ("epochs"), so a delivery
 * rebuilt by replaying an older event is keyed as it was when it was first sent.
 */
import * as crypto from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { ActorSystem, ExtensionId } from '../src/actor/actor-system.js';
import { InvalidOptionError } from '../src/actor/errors.js';
import { SequenceNrConflictError } from '../src/persistence/errors.js';
import { Persistence } from '../src/persistence/persistence.js';
import type { PersistentRepr } from '../src/persistence/persistent-repr.js';

/** Prefix of the streams that hold identities; a user's persistenceId should not start with it. */
export const SENDER_IDENTITY_STREAM_PREFIX = '@steadfast/sender-identity/';

const STORE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** One stored identity record: from `fromSequenceNr` on, the actor's deliveries are keyed with `storeId`. */
interface IdentityEpoch {
  readonly storeId: string;
  readonly fromSequenceNr: number;
}

interface StoredIdentityEvent {
  readonly type: 'sender-identity';
  readonly storeId: string;
  readonly fromSequenceNr: number;
  /** Only in the first record: the secret the confirmation tokens are derived from (base64url). */
  readonly secret?: string;
}

/**
 * The tokens of one wire sender id: AES-128 of a block naming the delivery id, under a key derived
 * from the secret and the sender id (SHA-512/256 of both, truncated). AES is a pseudo-random
 * permutation, so for blocks that are never repeated its output is a MAC nobody without the key can
 * forge. ECB on a long-lived cipher makes each 16 bytes in one such block out: delivery ids come in
 * ascending runs, so the tokens of 64 ids are made in one call (one crossing into OpenSSL instead of a
 * hash per delivery, on a path every delivery takes) and kept until an id outside the run is asked.
 */
class TokenSource {
  static readonly RUN = 64;
  readonly #cipher: crypto.Cipher;
  readonly #blocks = Buffer.alloc(TokenSource.RUN * 16);
  #runStart = -1;
  #tokens: string[] = [];

  constructor(secret: Buffer, senderId: string) {
    const key = crypto.createHash('sha512-256').update(secret).update('\u0000token key\u0000').update(senderId).digest().subarray(0, 16);
    this.#cipher = crypto.createCipheriv('aes-128-ecb', key, null);
    this.#cipher.setAutoPadding(false);
    // A tag in the first half of every block: these blocks mean nothing but "delivery id n".
    for (let i = 0; i < TokenSource.RUN; i++) this.#blocks.write('sf-tokn', i * 16, 'latin1');
  }

  tokenFor(deliveryId: number): string {
    const offset = deliveryId - this.#runStart;
    if (this.#runStart < 0 || offset < 0 || offset >= TokenSource.RUN) return this.#run(deliveryId - (deliveryId % TokenSource.RUN), deliveryId);
    return this.#tokens[offset]!;
  }

  #run(start: number, deliveryId: number): string {
    for (let i = 0; i < TokenSource.RUN; i++) {
      const id = start + i;
      this.#blocks.writeUInt32BE(Math.floor(id / 2 ** 32), i * 16 + 8);
      this.#blocks.writeUInt32BE(id >>> 0, i * 16 + 12);
    }
    const out = this.#cipher.update(this.#blocks);
    const tokens = new Array<string>(TokenSource.RUN);
    for (let i = 0; i < TokenSource.RUN; i++) tokens[i] = out.toString('base64url', i * 16, i * 16 + 16);
    this.#runStart = start;
    this.#tokens = tokens;
    return tokens[deliveryId - start]!;
  }
}

/** The resolved identity of one delivering actor. */
export class SenderIdentity {
  readonly #secret: Buffer;
  /** By wire sender id: one per epoch the actor still has deliveries of (usually one). */
  readonly #tokens = new Map<string, TokenSource>();

  constructor(
    readonly persistenceId: string,
    /** Oldest first; never empty. */
    readonly epochs: readonly IdentityEpoch[],
    secret: Buffer,
  ) {
    this.#secret = secret;
  }

  /** The wire sender id of deliveries made now. */
  get currentSenderId(): string {
    return wireSenderId(this.persistenceId, this.epochs[this.epochs.length - 1]!.storeId);
  }

  /**
   * The wire sender id of a delivery that an event with this sequence number created (replay): the
   * bare persistenceId for events older than every identity record, the sender's old key.
   */
  senderIdAt(sequenceNr: number): string {
    for (let i = this.epochs.length - 1; i >= 0; i--) {
      const epoch = this.epochs[i]!;
      if (sequenceNr >= epoch.fromSequenceNr) return wireSenderId(this.persistenceId, epoch.storeId);
    }
    return this.persistenceId;
  }

  /** True for the keys of deliveries made before the sender had an identity (confirmed without a token). */
  isLegacy(senderId: string): boolean {
    return senderId === this.persistenceId;
  }

  /** The token a receiver echoes to prove it received this delivery. */
  tokenFor(senderId: string, deliveryId: number): string {
    let source = this.#tokens.get(senderId);
    if (source === undefined) {
      source = new TokenSource(this.#secret, senderId);
      this.#tokens.set(senderId, source);
    }
    return source.tokenFor(deliveryId);
  }

  /**
   * Compares in constant time: every character is looked at, whatever matches (tokens are ASCII of a
   * fixed length, so the length check leaks nothing). No Buffers: this runs for every confirmation.
   */
  static tokensMatch(expected: string, presented: unknown): boolean {
    if (typeof presented !== 'string' || presented.length !== expected.length) return false;
    let difference = 0;
    for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ presented.charCodeAt(i);
    return difference === 0;
  }
}

export function wireSenderId(persistenceId: string, storeId: string): string {
  return `${persistenceId}@${storeId}`;
}

export function validateStoreId(storeId: unknown, name: string): string | undefined {
  if (storeId === undefined) return undefined;
  if (typeof storeId !== 'string' || !STORE_ID_PATTERN.test(storeId)) {
    throw new InvalidOptionError(`${name} must be 1 to 64 characters of A-Z, a-z, 0-9, "-" and "_", got ${JSON.stringify(storeId)}`);
  }
  return storeId;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * The identities of the delivering actors of one system, read from (and on first use written to) the
 * system's journal. Resolving retries while the journal is away: the actor meanwhile stays in recovery
 * and sends nothing, which is what it would do anyway without a journal.
 */
export class SenderIdentities {
  static readonly id: ExtensionId<SenderIdentities> = {
    name: 'sender-identities',
    create: (system) => new SenderIdentities(system),
  };

  static get(system: ActorSystem): SenderIdentities {
    return system.extension(SenderIdentities.id);
  }

  readonly #resolved = new Map<string, SenderIdentity>();
  readonly #resolving = new Map<string, Promise<SenderIdentity>>();
  #terminated = false;

  private constructor(private readonly system: ActorSystem) {
    system.registerOnTermination(() => {
      this.#terminated = true;
    });
  }

  /** The identity if it was resolved before (a restarted incarnation gets it at once). */
  cached(persistenceId: string, storeId: string | undefined): SenderIdentity | undefined {
    const identity = this.#resolved.get(persistenceId);
    return identity && (storeId === undefined || identity.epochs[identity.epochs.length - 1]!.storeId === storeId) ? identity : undefined;
  }

  resolve(persistenceId: string, storeId: string | undefined): Promise<SenderIdentity> {
    const cached = this.cached(persistenceId, storeId);
    if (cached) return Promise.resolve(cached);
    let resolving = this.#resolving.get(persistenceId);
    if (!resolving) {
      resolving = this.#resolveWithRetries(persistenceId, storeId).finally(() => this.#resolving.delete(persistenceId));
      this.#resolving.set(persistenceId, resolving);
    }
    return resolving;
  }

  async #resolveWithRetries(persistenceId: string, storeId: string | undefined): Promise<SenderIdentity> {
    let delay = RETRY_MIN_MS;
    let failures = 0;
    for (;;) {
      try {
        const identity = await this.#readOrCreate(persistenceId, storeId);
        this.#resolved.set(persistenceId, identity);
        return identity;
      } catch (error) {
        if (this.#terminated) throw error;
        if (failures++ % 20 === 0) {
          this.system.log.warn({ err: error, persistenceId }, 'cannot read or store the sender identity yet; nothing is sent until it is known, retrying');
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(RETRY_MAX_MS, delay * 2);
      }
    }
  }

  async #readOrCreate(persistenceId: string, configuredStoreId: string | undefined): Promise<SenderIdentity> {
    const persistence = Persistence.get(this.system);
    const stream = SENDER_IDENTITY_STREAM_PREFIX + persistenceId;
    // In parallel with the actor's own recovery: nothing of the actor is written before it completes.
    const actorHighest = persistence.readHighestSequenceNr(persistenceId, 0);
    // Awaited below only if the stream's read succeeds: a failure of both must not go unhandled (it would end the process).
    actorHighest.catch(() => {});
    // The stream's highest number first, then its records: a record another process committed before
    // that read is then among the records (unless deleted), so a racer never appends a second identity
    // after a first one it did not see; it collides with it and reads again.
    const streamHighest = await persistence.readHighestSequenceNr(stream, 0);
    const [records, highest] = await Promise.all([this.#read(persistence, stream), actorHighest]);
    const epochs = records.map(({ storeId, fromSequenceNr }) => ({ storeId, fromSequenceNr }));
    const secret = records.find((record) => record.secret !== undefined)?.secret;
    const current = epochs[epochs.length - 1];
    if (current && secret !== undefined && (configuredStoreId === undefined || configuredStoreId === current.storeId)) {
      return new SenderIdentity(persistenceId, epochs, Buffer.from(secret, 'base64url'));
    }
    const record: StoredIdentityEvent = {
      type: 'sender-identity',
      storeId: configuredStoreId ?? randomBytes(12).toString('base64url'),
      fromSequenceNr: highest + 1,
      ...(secret === undefined ? { secret: randomBytes(32).toString('base64url') } : {}),
    };
    await this.#append(persistence, stream, streamHighest + 1, record);
    // Read again rather than trust the write: a second process may have raced us (the journal refuses
    // one of two writes of the same sequence number, and then that one's record is the truth).
    return this.#readOrCreate(persistenceId, configuredStoreId);
  }

  async #read(persistence: Persistence, stream: string): Promise<StoredIdentityEvent[]> {
    const records: StoredIdentityEvent[] = [];
    await persistence.replayMessages(stream, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (repr) => {
      const value = persistence.serialization.deserialize(repr) as Partial<StoredIdentityEvent> | null;
      if (value?.type !== 'sender-identity' || typeof value.storeId !== 'string' || !Number.isSafeInteger(value.fromSequenceNr)) {
        throw new InvalidOptionError(`the sender identity stream "${stream}" holds an unexpected event at ${repr.sequenceNr}`);
      }
      records.push(value as StoredIdentityEvent);
    });
    return records;
  }

  #append(persistence: Persistence, stream: string, sequenceNr: number, record: StoredIdentityEvent): Promise<void> {
    const serialized = persistence.serialize(record);
    const event: PersistentRepr = {
      serializerId: serialized.serializerId,
      manifest: serialized.manifest,
      payload: serialized.payload,
      persistenceId: stream,
      sequenceNr,
      writerUuid: 'sender-identity',
      timestamp: Date.now(),
      tags: [],
    };
    return new Promise<void>((resolve, reject) => {
      persistence.writeMessages([{ persistenceId: stream, events: [event] }], {
        onCallSucceeded: (outcomes) => {
          const outcome = outcomes[0];
          // A conflict (another process wrote this record first) is fine: the caller reads again.
          if (outcome && outcome.status !== 'ok' && !(outcome.cause instanceof SequenceNrConflictError)) reject(outcome.cause);
          else resolve();
        },
        onCallFailed: reject,
      });
    });
  }
}
