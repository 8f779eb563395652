/**
 * What JSON.parse does not refuse but the service must: nesting deeper than a limit (deep enough
 * nesting overflows the stack of whatever walks the value later: a 503 instead of a 400), and integer
 * literals beyond 2^53-1, which JSON.parse rounds (`9007199254740993` becomes `...992`) — a payload
 * would be delivered changed. One pass over the text, with string contents skipped by indexOf; the
 * parse itself stays JSON.parse's (Node 20 has no reviver that sees the source text).
 */

export interface JsonScan {
  /** The nesting limit was passed (scanning stopped there). */
  readonly tooDeep: boolean;
  /** The first integer literal beyond Number.MAX_SAFE_INTEGER in magnitude, and where it starts. */
  readonly unsafeInteger: { readonly literal: string; readonly offset: number } | undefined;
}

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);

/**
 * Scans `text` (meant to be JSON; on malformed text the answer is of no use, and JSON.parse reports it).
 * Numbers with a fraction or an exponent are floating point by the sender's own notation and are left
 * to JSON.parse; integer literals are what identifiers and amounts are written as.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  let depth = 0;
  let unsafeInteger: JsonScan['unsafeInteger'];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i + 1);
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return { tooDeep: true, unsafeInteger };
      i++;
      continue;
    }
    if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let integer = true;
      i++;
      while (i < length) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) i++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integer = false;
          i++;
        } else break;
      }
      if (integer && unsafeInteger === undefined && isUnsafe(text, c === 0x2d ? start + 1 : start, i)) unsafeInteger = { literal: text.slice(start, i), offset: start };
      continue;
    }
    i++;
  }
  return { tooDeep: false, unsafeInteger };
}

/** The index after the closing quote of the string whose contents start at `from`. */
function endOfString(text: string, from: number): number {
  let i = from;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote < 0) return text.length;
    let backslashes = 0;
    for (let j = quote - 1; j >= i && text.charCodeAt(j) === 0x5c; j--) backslashes++;
    i = quote + 1;
    if (backslashes % 2 === 0) return i;
  }
}

/** Digits `text[start, end)` (no sign; JSON allows no leading zeros) beyond MAX_SAFE_INTEGER? */
function isUnsafe(text: string, start: number, end: number): boolean {
  const digits = end - start;
  if (digits !== MAX_SAFE_DIGITS.length) return digits > MAX_SAFE_DIGITS.length;
  return text.slice(start, end) > MAX_SAFE_DIGITS;
}
