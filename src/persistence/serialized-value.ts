/**
 * What a plugin stores for one event or snapshot: the bytes (or JSON text) a serializer produced, the
 * serializer that can read them back, and the manifest (type name and schema version) that tells the
 * serializer and the event adapters what the payload is.
 *
 * `payload` is a string when the serializer produced JSON text (SQL plugins store it as `jsonb` / text
 * so operators can query it) and a `Uint8Array` for binary serializers (stored as `bytea` / blob).
 */
export interface SerializedValue {
  readonly serializerId: string;
  readonly manifest: string;
  readonly payload: string | Uint8Array;
}
