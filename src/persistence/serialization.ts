import type { SerializedValue } from './serialized-value.js';
import { DeserializationError, SerializationError } from './errors.js';

/**
 * Turns events and snapshots into stored values and back. User serializers are asked in order
 * (`canSerialize`), the JSON serializer takes the rest. The manifest (type name and schema version)
 * is stored beside the payload, so a reader knows what it reads before parsing it.
 */
export interface Serializer {
  /** Stored with every payload: never change it once data was written with it. */
  readonly id: string;
  canSerialize(value: unknown): boolean;
  serialize(value: unknown): { manifest: string; payload: string | Uint8Array };
  deserialize(payload: string | Uint8Array, manifest: string): unknown;
}

export interface Manifest {
  readonly typeName: string;
  readonly version: number;
}

/** `Deposited@2` ⇄ { typeName: 'Deposited', version: 2 }; a manifest without `@` is version 1. */
export function formatManifest(typeName: string, version: number): string {
  return `${typeName}@${version}`;
}

export function parseManifest(manifest: string): Manifest {
  const at = manifest.lastIndexOf('@');
  if (at < 0) return { typeName: manifest, version: 1 };
  const version = Number(manifest.slice(at + 1));
  return { typeName: manifest.slice(0, at), version: Number.isSafeInteger(version) ? version : 1 };
}

/** The type name of plain data: its `type` field when it is a string (discriminated unions), else its kind. */
export function typeNameOf(value: unknown): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const type = (value as { type?: unknown }).type;
    if (typeof type === 'string' && type.length > 0) return type;
    return 'object';
  }
  if (Array.isArray(value)) return 'array';
  return value === null ? 'null' : typeof value;
}

/**
 * Walks a value and throws a SerializationError naming the path of the first part that JSON would
 * not give back unchanged: functions, symbols, bigints, undefined in arrays, non-finite numbers,
 * cycles, and objects that are not plain (class instances, Dates, Maps...). Rejecting at persist time
 * is the point: a value that cannot be replayed must never reach the journal.
 *
 * This runs for every persisted event, so the happy path allocates nothing: the path is only put
 * together, while unwinding, once a problem was found.
 */
export function assertJsonRoundTrips(value: unknown, path = '$'): void {
  // The ancestors' stack is reused from call to call (taken, so a nested call gets a fresh one).
  const ancestors = spareAncestors ?? new Ancestors();
  spareAncestors = undefined;
  try {
    checkValue(value, ancestors);
  } catch (error) {
    if (!(error instanceof PathProblem)) throw error;
    const at = path + error.keys.reverse().join('');
    throw new SerializationError(error.describe(at));
  } finally {
    ancestors.clear();
    spareAncestors = ancestors;
  }
}

/**
 * The objects on the path from the root to the value being checked, for the cycle check. A stack
 * with its own depth rather than push and pop on an array: V8 trims an array's backing store when
 * pop leaves it mostly empty, so every walk that went one level deep allocated a new one (~470 B of
 * garbage per persisted event in the RabbitMQ end-to-end profile).
 */
class Ancestors {
  readonly #items: (object | undefined)[] = [];
  #depth = 0;

  includes(value: object): boolean {
    for (let i = 0; i < this.#depth; i++) if (this.#items[i] === value) return true;
    return false;
  }

  push(value: object): void {
    this.#items[this.#depth++] = value;
  }

  pop(): void {
    // Not kept alive by the stack once walked.
    this.#items[--this.#depth] = undefined;
  }

  clear(): void {
    while (this.#depth > 0) this.pop();
  }
}

let spareAncestors: Ancestors | undefined = new Ancestors();

/**
 * A problem found deep in a value; each level on the way out adds its key. The message is made from
 * a module-level function and a detail, never from a closure: a closure over checkValue's parameters
 * would make V8 allocate a context object on every call, problem or not (~50 bytes per value walked).
 */
class PathProblem {
  readonly keys: string[] = [];
  constructor(
    readonly message: (path: string, detail: string) => string,
    readonly detail = '',
  ) {}

  describe(path: string): string {
    return this.message(path, this.detail);
  }
}

const NOT_FINITE = (path: string, detail: string): string => `${path} is ${detail}, which JSON cannot represent`;
const UNDEFINED = (path: string): string => `${path} is undefined, which JSON cannot represent here`;
const BIGINT = (path: string): string => `${path} is a BigInt; register a serializer for it or store it as a string`;
const NOT_PERSISTABLE = (path: string, detail: string): string => `${path} is a ${detail}, which cannot be persisted`;
const CYCLE = (path: string): string => `${path} refers back to one of its parents (a cycle)`;
const NOT_PLAIN = (path: string, detail: string): string => `${path} is an instance of ${detail}; events and snapshots must be plain data (or register a serializer for ${detail})`;

function checkValue(value: unknown, ancestors: Ancestors): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new PathProblem(NOT_FINITE, String(value));
      return;
    case 'undefined':
      throw new PathProblem(UNDEFINED);
    case 'bigint':
      throw new PathProblem(BIGINT);
    case 'function':
    case 'symbol':
      throw new PathProblem(NOT_PERSISTABLE, typeof value);
    case 'object': {
      if (value === null) return;
      // Only ancestors count: the same object twice side by side is fine for JSON (it is copied).
      if (ancestors.includes(value)) throw new PathProblem(CYCLE);
      ancestors.push(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          try {
            checkValue(value[i], ancestors);
          } catch (error) {
            if (error instanceof PathProblem) error.keys.push(`[${i}]`);
            throw error;
          }
        }
      } else {
        const prototype = Object.getPrototypeOf(value) as unknown;
        if (prototype !== Object.prototype && prototype !== null) {
          throw new PathProblem(NOT_PLAIN, (value as object).constructor?.name ?? 'unknown class');
        }
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          const field = (value as Record<string, unknown>)[key];
          // A missing field and an undefined one read the same after a round trip.
          if (field === undefined) continue;
          try {
            checkValue(field, ancestors);
          } catch (error) {
            if (error instanceof PathProblem) error.keys.push(`.${key}`);
            throw error;
          }
        }
      }
      ancestors.pop();
      return;
    }
  }
}

export class JsonSerializer implements Serializer {
  readonly id = 'json';

  constructor(private readonly schemaVersions: Readonly<Record<string, number>> = {}) {}

  canSerialize(): boolean {
    return true;
  }

  // Manifests repeat for every event of a type: build each string once.
  readonly #manifests = new Map<string, string>();

  // Returns the stored form itself (with its serializerId), so the registry need not copy it.
  serialize(value: unknown): SerializedValue & { payload: string } {
    assertJsonRoundTrips(value);
    const typeName = typeNameOf(value);
    let manifest = this.#manifests.get(typeName);
    if (manifest === undefined) {
      manifest = formatManifest(typeName, this.schemaVersions[typeName] ?? 1);
      if (this.#manifests.size < 10_000) this.#manifests.set(typeName, manifest);
    }
    return { serializerId: this.id, manifest, payload: JSON.stringify(value) };
  }

  deserialize(payload: string | Uint8Array, manifest: string): unknown {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new DeserializationError(`payload with manifest "${manifest}" is not valid JSON`, { cause: error });
    }
  }
}

export class SerializationRegistry {
  readonly #serializers: readonly Serializer[];
  readonly #byId = new Map<string, Serializer>();

  constructor(userSerializers: readonly Serializer[], json: Serializer) {
    this.#serializers = [...userSerializers, json];
    for (const serializer of this.#serializers) {
      if (this.#byId.has(serializer.id)) {
        throw new SerializationError(`two serializers share the id "${serializer.id}"`);
      }
      this.#byId.set(serializer.id, serializer);
    }
  }

  serialize(value: unknown): SerializedValue {
    const serializers = this.#serializers;
    let serializer = serializers[0]!;
    for (let i = 1; !serializer.canSerialize(value) && i < serializers.length; i++) serializer = serializers[i]!;
    let result: { manifest: string; payload: string | Uint8Array };
    try {
      result = serializer.serialize(value);
    } catch (error) {
      if (error instanceof SerializationError) throw error;
      throw new SerializationError(`serializer "${serializer.id}" failed: ${(error as Error).message}`, { cause: error });
    }
    if ((result as Partial<SerializedValue>).serializerId === serializer.id) return result as SerializedValue;
    return { serializerId: serializer.id, manifest: result.manifest, payload: result.payload };
  }

  deserialize(value: SerializedValue): unknown {
    const serializer = this.#byId.get(value.serializerId);
    if (!serializer) {
      throw new DeserializationError(`no serializer with id "${value.serializerId}" is registered (manifest "${value.manifest}")`);
    }
    try {
      return serializer.deserialize(value.payload, value.manifest);
    } catch (error) {
      if (error instanceof DeserializationError) throw error;
      throw new DeserializationError(`serializer "${serializer.id}" could not read manifest "${value.manifest}"`, { cause: error });
    }
  }
}
