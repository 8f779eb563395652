/**
 * Where the HTTP transport may send (SSRF protection). Two layers:
 *
 * - `allowedHosts` (optional): host names (`hooks.example.com`), wildcards (`*.example.com`: any name
 *   below it, not the name itself), IPv4/IPv6 addresses and CIDR ranges (`10.0.0.0/8`, `[fd00::/8]`),
 *   each optionally with `:port` (`hooks.example.com:8443`, `[::1]:9000`; without a port any port is
 *   allowed). With a list, a destination's host must match an entry: a name matches name entries, an IP
 *   literal matches address/CIDR entries.
 * - Always refused, list or not (unless an address/CIDR entry of the list names the address on
 *   purpose): link-local and cloud-metadata addresses — 169.254.0.0/16, fe80::/10, fd00:ec2::254,
 *   100.100.100.200 — "this network" 0.0.0.0/8, ::, multicast and reserved ranges, and IPv4 addresses
 *   embedded in IPv6 (`::ffff:169.254.169.254`, `64:ff9b::a9fe:a9fe`, ...) are checked as the IPv4
 *   address they carry. Well-known metadata host names (`metadata.google.internal`, ...) too.
 *   Private and loopback addresses stay allowed without a list: sending to services on the same
 *   network is the point.
 *
 * Host names are normalised by the WHATWG URL parser first, so numeric disguises (`0xa9fea9fe`,
 * `2852039166`, `0251.0376.0251.0376`, `169.254.43518`) are the dotted address they stand for. A name's
 * resolved addresses are checked again when connecting (a `lookup` given to the undici Agent's connector), so DNS cannot
 * smuggle in a refused address; redirects are never followed (the Agent does not without its redirect interceptor), a 3xx is a failed
 * attempt.
 */
import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { DestinationNotAllowedError } from './errors.js';

type Family = 'ipv4' | 'ipv6';

interface AddressEntry {
  readonly kind: 'address';
  readonly text: string;
  readonly list: BlockList;
  readonly port: number | undefined;
}

interface NameEntry {
  readonly kind: 'name' | 'suffix';
  readonly text: string;
  /** 'name': the exact host; 'suffix': '.example.com' for '*.example.com'. */
  readonly name: string;
  readonly port: number | undefined;
}

type Entry = AddressEntry | NameEntry;

/** [network, prefix, family, why] */
const REFUSED_RANGES: readonly (readonly [string, number, Family, string])[] = [
  ['169.254.0.0', 16, 'ipv4', 'a link-local / cloud-metadata address'],
  ['100.100.100.200', 32, 'ipv4', 'a cloud-metadata address'],
  ['0.0.0.0', 8, 'ipv4', 'not a destination address ("this network")'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved address'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fd00:ec2::254', 128, 'ipv6', 'a cloud-metadata address'],
  ['::', 128, 'ipv6', 'not a destination address (unspecified)'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
];

const REFUSED_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

const refused = REFUSED_RANGES.map(([network, prefix, family, why]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, family, why };
});

function familyOf(address: string): Family | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/** The 16 bytes of an IPv6 address (already known to be valid). */
function ipv6Bytes(address: string): number[] {
  let text = address.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((group) => {
    const value = Number.parseInt(group || '0', 16);
    return [value >> 8, value & 0xff];
  });
}

/** The IPv4 address an IPv6 address carries (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48). */
function embeddedIpv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  const zero = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  const v4 = bytes.slice(12).join('.');
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4;
  if (zero(0, 12) && bytes[12] !== 0) return v4; // ::a.b.c.d (not ::1, ::)
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && (zero(4, 12) || (bytes[4] === 0 && bytes[5] === 1))) return v4;
  return undefined;
}

/** Why an address is refused whatever the list says (undefined: it is not). */
export function refusedAddressReason(address: string): string | undefined {
  const plain = address.replace(/^\[|\]$/g, '').split('%')[0]!;
  const family = familyOf(plain);
  if (!family) return undefined;
  for (const range of refused) {
    if (range.family === family && range.list.check(plain, family)) return range.why;
  }
  if (family === 'ipv6') {
    const v4 = embeddedIpv4(plain);
    if (v4 !== undefined) {
      const why = refusedAddressReason(v4);
      if (why) return `${why} (${v4}, embedded in an IPv6 address)`;
    }
  }
  return undefined;
}

function parsePort(text: string, entry: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(entry)}: the port must be 1 to 65535`);
  return port;
}

function parseEntry(raw: unknown): Entry {
  if (typeof raw !== 'string' || raw.trim() === '') throw new InvalidOptionError(`allowedHosts entries must be non-empty strings, got ${JSON.stringify(raw)}`);
  const text = raw.trim();
  let host = text;
  let port: number | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(text)}: missing "]"`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(text)}: expected ":port" after "]"`);
      port = parsePort(rest.slice(1), text);
    }
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const colon = text.indexOf(':');
    host = text.slice(0, colon);
    port = parsePort(text.slice(colon + 1), text);
  }
  const [network, prefixText, ...extra] = host.split('/');
  const family = familyOf(network!);
  if (prefixText !== undefined || family) {
    if (!family || extra.length > 0) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(text)}: not an IP address or CIDR range`);
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (!(prefix >= 0 && prefix <= max)) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(text)}: the prefix length must be 0 to ${max}`);
    const list = new BlockList();
    list.addSubnet(network!, prefix, family);
    return { kind: 'address', text, list, port };
  }
  const wildcard = host.startsWith('*.');
  const name = normaliseName(wildcard ? host.slice(2) : host, text);
  if (familyOf(name)) {
    // e.g. "0x7f000001", which the URL parser reads as 127.0.0.1: an address, not a name.
    if (wildcard) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(text)}: a wildcard needs a domain name`);
    return parseEntry(port === undefined ? name : `${name}:${port}`);
  }
  return wildcard ? { kind: 'suffix', text, name: `.${name}`, port } : { kind: 'name', text, name, port };
}

function normaliseName(name: string, entry: string): string {
  if (name === '' || name.includes('*')) throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(entry)}: not a host name (wildcards are "*.example.com")`);
  let hostname: string;
  try {
    hostname = new URL(`http://${name}/`).hostname;
  } catch {
    throw new InvalidOptionError(`allowedHosts entry ${JSON.stringify(entry)}: not a host name`);
  }
  return hostname.replace(/\.$/, '');
}

const ALLOWED = '';
const MAX_VERDICTS = 1024;

export class HttpDestinationPolicy {
  readonly #entries: readonly Entry[] | undefined;
  /** `${protocol}//${host}` -> ALLOWED or the refusal's message. */
  readonly #verdicts = new Map<string, string>();

  /** `allowedHosts` undefined: no list (only the always-refused addresses are refused). */
  constructor(allowedHosts?: readonly string[]) {
    if (allowedHosts !== undefined) {
      if (!Array.isArray(allowedHosts)) throw new InvalidOptionError('httpTransport option allowedHosts must be an array of strings');
      if (allowedHosts.length === 0) throw new InvalidOptionError('httpTransport option allowedHosts must not be empty (leave it out to allow any host)');
      this.#entries = allowedHosts.map(parseEntry);
    }
  }

  get allowedHosts(): readonly string[] | undefined {
    return this.#entries?.map((entry) => entry.text);
  }

  /** Throws DestinationNotAllowedError when `url` may not be requested. */
  checkUrl(url: URL): void {
    // Every delivery is checked three times (accepted, handed to the transport, sent) and a BlockList
    // check builds a SocketAddress per range: ~30 µs an address. The verdict depends on the scheme,
    // host and port alone, and the policy never changes, so it is remembered (a bounded map).
    const key = `${url.protocol}//${url.host}`;
    let verdict = this.#verdicts.get(key);
    if (verdict === undefined) {
      verdict = this.#verdict(url);
      if (this.#verdicts.size >= MAX_VERDICTS) this.#verdicts.clear();
      this.#verdicts.set(key, verdict);
    }
    if (verdict !== ALLOWED) throw new DestinationNotAllowedError(verdict);
  }

  /** ALLOWED, or why `url` is refused. */
  #verdict(url: URL): string {
    try {
      this.#check(url);
      return ALLOWED;
    } catch (error) {
      if (error instanceof DestinationNotAllowedError) return error.message;
      throw error;
    }
  }

  #check(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationNotAllowedError(`destination.url must be http: or https:, got ${url.protocol}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    if (familyOf(host)) {
      if (this.#explicitlyAllowed(host, port)) return;
      const why = refusedAddressReason(host);
      if (why) throw new DestinationNotAllowedError(`destination host ${url.hostname} is ${why}; it is never requested`);
      if (this.#entries) throw this.#notListed(url.hostname, port);
      return;
    }
    const name = host.replace(/\.$/, '');
    if (this.#entries) {
      const listed = this.#entries.some(
        (entry) => entry.kind !== 'address' && (entry.port === undefined || entry.port === port) && (entry.kind === 'name' ? entry.name === name : name.endsWith(entry.name)),
      );
      if (!listed) throw this.#notListed(name, port);
      return;
    }
    if (REFUSED_NAMES.has(name)) throw new DestinationNotAllowedError(`destination host ${name} is a cloud-metadata service; it is never requested`);
  }

  /** Throws DestinationNotAllowedError when a name resolved to an address that may not be connected to. */
  checkResolved(hostname: string, address: string, port?: number): void {
    if (port !== undefined ? this.#explicitlyAllowed(address, port) : this.#explicitlyAllowedAnyPort(address)) return;
    const why = refusedAddressReason(address);
    if (why) throw new DestinationNotAllowedError(`destination host ${hostname} resolves to ${address}, which is ${why}; it was not requested`);
  }

  /** Wraps a dns.lookup-style function so that refused answers become a DestinationNotAllowedError. */
  lookup(base: LookupFunction = dns.lookup as LookupFunction): LookupFunction {
    return (hostname, options, callback) => {
      base(hostname, options, (error, address, family) => {
        if (error) {
          callback(error, address, family);
          return;
        }
        const answers = Array.isArray(address) ? address.map((a) => a.address) : [address];
        try {
          for (const answer of answers) this.checkResolved(hostname, answer);
        } catch (refusal) {
          callback(refusal as NodeJS.ErrnoException, address, family);
          return;
        }
        callback(null, address, family);
      });
    };
  }

  #addressEntries(): AddressEntry[] {
    return (this.#entries ?? []).filter((entry): entry is AddressEntry => entry.kind === 'address');
  }

  #explicitlyAllowed(address: string, port: number): boolean {
    const family = familyOf(address);
    return family !== undefined && this.#addressEntries().some((entry) => (entry.port === undefined || entry.port === port) && entry.list.check(address, family));
  }

  #explicitlyAllowedAnyPort(address: string): boolean {
    const family = familyOf(address);
    return family !== undefined && this.#addressEntries().some((entry) => entry.list.check(address, family));
  }

  #notListed(host: string, port: number): DestinationNotAllowedError {
    return new DestinationNotAllowedError(`destination host ${host} (port ${port}) is not in the allowed hosts (allowedHosts / HTTP_ALLOWED_HOSTS)`);
  }
}
