/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as plain strings: what a delivery keeps of
 * the trace it belongs to (in its `accepted` event and in snapshots) and what goes on the wire. Parsed
 * and written here rather than through OpenTelemetry's propagator, so that a delivery keeps and sends
 * its trace also where no SDK (or no `@opentelemetry/api` at all) is installed.
 */

/** A trace's W3C headers as a delivery stores and sends them. */
export interface TraceCarrier {
  /** `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
  readonly traceparent: string;
  /** Vendor state passed along unchanged (validated only for size and characters). */
  readonly tracestate?: string;
}

export interface TraceparentFields {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO_TRACE_ID = '0'.repeat(32);
const ALL_ZERO_SPAN_ID = '0'.repeat(16);
/** The spec's bounds: 512 characters are enough for anyone; at most 32 list members. */
const MAX_TRACESTATE_LENGTH = 512;
const MAX_TRACESTATE_MEMBERS = 32;
const TRACESTATE_MEMBER = /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * The fields of a `traceparent`, or undefined when it is malformed: the spec says to ignore such a
 * header (and so a service does not refuse a message because of it). Version 00 has exactly four
 * fields; a later version may append more, which are ignored; version ff is invalid.
 */
export function parseTraceparent(value: unknown): TraceparentFields | undefined {
  if (typeof value !== 'string' || value.length < 55 || value.length > 256) return undefined;
  const match = TRACEPARENT.exec(value);
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ALL_ZERO_TRACE_ID || spanId === ALL_ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A `tracestate` worth passing on, or undefined (absent, empty, too long, or not a list of key=value). */
export function validTracestate(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TRACESTATE_LENGTH) return undefined;
  const members = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member.length > 0);
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  return members.every((member) => TRACESTATE_MEMBER.test(member)) ? members.join(',') : undefined;
}

/**
 * The carrier of these headers, or undefined when `traceparent` is absent or malformed (then
 * `tracestate` goes too, as the spec says). Takes what a request or a stored event holds (`unknown`).
 */
export function traceCarrierOf(traceparent: unknown, tracestate?: unknown): TraceCarrier | undefined {
  const fields = parseTraceparent(traceparent);
  if (fields === undefined) return undefined;
  // Rewritten as version 00: the fields this version knows are all a receiver gets from us.
  const normalized = formatTraceparent(fields.traceId, fields.spanId, fields.traceFlags);
  const state = validTracestate(tracestate);
  return state === undefined ? { traceparent: normalized } : { traceparent: normalized, tracestate: state };
}

/** A carrier read back from a journal or snapshot: kept when it is still well-formed, else dropped. */
export function storedTraceCarrier(value: unknown): TraceCarrier | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { traceparent, tracestate } = value as { traceparent?: unknown; tracestate?: unknown };
  const carrier = traceCarrierOf(traceparent, tracestate);
  // The same object when it is one already (what steadfast made): its parent context is known by it.
  const same =
    carrier !== undefined && carrier.traceparent === traceparent && carrier.tracestate === tracestate && Object.keys(value).length === (tracestate === undefined ? 1 : 2);
  return same ? (value as TraceCarrier) : carrier;
}

/** The trace id of a carrier (32 hex digits). */
export function traceIdOf(carrier: TraceCarrier): string {
  return carrier.traceparent.slice(3, 35);
}

/**
 * The carrier of an HTTP request's headers (each as the list of its values): one `traceparent` (two
 * are malformed, so ignored), and the `tracestate` values joined as one list, as the spec allows.
 */
export function traceCarrierOfHeaders(traceparent: readonly string[] | undefined, tracestate: readonly string[] | undefined): TraceCarrier | undefined {
  if (traceparent === undefined || traceparent.length !== 1) return undefined;
  return traceCarrierOf(traceparent[0], tracestate?.join(','));
}
