/**
 * Redaction of secrets in what is shown (API answers, log lines, error messages); what is stored and
 * sent keeps the real values. One place for the rules, used by the library (describeDestination, the
 * HTTP transport's error labels) and by the service (its configuration log, API answers, pino).
 *
 * - URLs: the password of `user:password@` becomes `***` (a user name alone is kept: `postgres@db` names
 *   a role, not a secret — except in HTTP destinations, see redactDestination); query and fragment
 *   parameters named like secrets (password, token, api_key, key, signature, sig, ...) get `***`.
 * - Headers named like credentials (Authorization, Proxy-Authorization, Cookie, Set-Cookie, *-Token,
 *   *-Key, *-Secret, X-Api-Key, ...) show `[redacted]`.
 * Not redacted: secrets in URL paths (e.g. webhook URLs that carry their token as a path segment) —
 * put credentials in headers or in a secret-named query parameter.
 */

export const REDACTED = '[redacted]';
const MASK = '***';

// Normalised (lower case, '-' → '_') names of query parameters that hold secrets.
const SECRET_PARAM = /(pass|pwd|secret|token|credential|signature|session|cookie|(^|_)auth($|_|orization)|(^|_)(api_?key|apikey|key|sig|jwt|otp)$|private)/;
const SECRET_HEADER = /^(authorization|proxy_authorization|cookie|set_cookie)$|token|secret|pass|(^|_)key$|api_?key|signature|credential|session|(^|_)auth($|_)/;

export function isSecretParameterName(name: string): boolean {
  return SECRET_PARAM.test(name.toLowerCase().replace(/-/g, '_'));
}

export function isSecretHeaderName(name: string): boolean {
  return SECRET_HEADER.test(name.toLowerCase().replace(/-/g, '_'));
}

function redactParameters(part: string): string {
  // part is '?a=1&b=2' or '#a=1' (or '' / a bare fragment)
  if (part.length <= 1) return part;
  const prefix = part[0]!;
  const pairs = part
    .slice(1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals === -1 ? pair : pair.slice(0, equals);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // keep the raw name
      }
      return equals !== -1 && isSecretParameterName(name) ? `${rawName}=${MASK}` : pair;
    });
  return prefix + pairs.join('&');
}

export interface RedactUrlOptions {
  /** Also mask a user name (HTTP destinations: `https://<token>@host` is common). Default false. */
  readonly username?: boolean;
}

/**
 * `postgres://user:secret@host/db?password=x` becomes `postgres://user:***@host/db?password=***`. Text
 * that does not parse as a URL is redacted by pattern (`//user:***@`).
 */
export function redactUrl(value: string, options: RedactUrlOptions = {}): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return value
      .replace(/\/\/([^:@/\s]*):[^@/\s]*@/, options.username ? `//${MASK}:${MASK}@` : `//$1:${MASK}@`)
      .replace(/\/\/[^:@/\s]+@/, options.username ? `//${MASK}@` : '$&')
      .replace(/([?&#])([^=&#\s]+)=([^&#\s]*)/g, (all, sep: string, name: string) => (isSecretParameterName(name) ? `${sep}${name}=${MASK}` : all));
  }
  let changed = false;
  if (parsed.password !== '') {
    parsed.password = MASK;
    changed = true;
  }
  if (options.username && parsed.username !== '') {
    parsed.username = MASK;
    changed = true;
  }
  const search = redactParameters(parsed.search);
  const hash = redactParameters(parsed.hash);
  if (search !== parsed.search) {
    parsed.search = search;
    changed = true;
  }
  if (hash !== parsed.hash) {
    parsed.hash = hash;
    changed = true;
  }
  return changed ? parsed.href : value;
}

/** Header values of credential-like names become `[redacted]`. */
export function redactHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) shown[name] = isSecretHeaderName(name) ? REDACTED : value;
  return shown;
}

/** URLs (with credentials or secret parameters) and `Bearer`/`Basic` credentials inside free text, e.g. error messages. */
export function redactText(text: string): string {
  return (
    text
      // No backslash in the match: inside a JSON line it starts an escape, which must stay as it is.
      .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`\\]+/gi, (url) => redactUrl(url, { username: /^https?:/i.test(url) }))
      .replace(/\b(Bearer|Basic|Digest)(\s+)[A-Za-z0-9._~+/=-]{4,}/g, `$1$2${REDACTED}`)
  );
}

/**
 * A transport destination as it may be shown: `url` redacted (user name too for http(s), where it is a
 * credential), `headers` with credential values replaced. Other fields are kept; other strings that
 * look like URLs are redacted as such. Non-objects (actor paths) are returned as they are.
 */
export function redactDestination<T>(destination: T): T {
  if (destination === null || typeof destination !== 'object' || Array.isArray(destination)) return destination;
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(destination as Record<string, unknown>)) {
    if (key === 'headers' && value !== null && typeof value === 'object' && !Array.isArray(value)) shown[key] = redactHeaders(value as Record<string, unknown>);
    else if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) shown[key] = redactUrl(value, { username: /^https?:/i.test(value) });
    else shown[key] = value;
  }
  return shown as T;
}
