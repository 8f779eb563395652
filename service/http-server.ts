/**
 * The HTTP plumbing of the API on node:http: routing, JSON bodies with size and nesting limits (and no
 * integer JSON.parse would round, see json-limits.ts), error answers
 * as `{ error: { code, message } }`, and a graceful close that waits for requests being handled (a
 * submission in progress is persisted and answered before the service goes away).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { redactText } from '../delivery/redaction.js';
import { scanJson } from './json-limits.js';
import { BadRequestError, HttpError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError, ServiceUnavailableError, UnsupportedMediaTypeError } from './errors.js';

export interface RequestContext {
  readonly params: Readonly<Record<string, string>>;
  /** The parsed JSON body (undefined when the route takes none, or an optional body was empty). */
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  /** Every header as sent, one entry per occurrence: `headers` joins repeated ones with ", ". */
  readonly headersDistinct: NodeJS.Dict<string[]>;
  readonly query: URLSearchParams;
  /** The peer's address (the proxy's, behind one). */
  readonly remoteAddress: string | undefined;
}

export type RouteResult = (
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string; readonly contentType: string }
  /** A long-lived answer (server-sent events): `open` writes the head and owns the response from then on. */
  | { readonly status: number; readonly open: (response: ServerResponse) => void }
) & {
  /** Extra response headers (e.g. Set-Cookie). */
  readonly headers?: Readonly<Record<string, string>>;
};

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** e.g. '/deliveries/:id' */
  readonly path: string;
  /** 'json': a JSON body is required; 'optional-json': an empty body is fine; 'none': any body is ignored. */
  readonly body: 'json' | 'optional-json' | 'none';
  handle(context: RequestContext): Promise<RouteResult>;
}

interface CompiledRoute extends Route {
  readonly segments: readonly string[];
}

export interface ApiServerOptions {
  readonly maxBodyBytes: number;
  /** Objects and arrays nested deeper than this are refused (400 `json_too_deep`). Default 64. */
  readonly maxJsonDepth?: number;
  readonly logger: Logger;
  /** Called once per answered request (metrics). */
  readonly onResponse?: (route: string, status: number) => void;
  /** Runs before routing; throws an HttpError (401, 429, ...) to refuse the request (see auth.ts). */
  readonly authorize?: (request: IncomingMessage, method: string, pathname: string) => void;
}

export class ApiServer {
  readonly #server: Server;
  readonly #routes: readonly CompiledRoute[];
  /** Routes without parameters by "METHOD /path" (they win over a parametrised one): the hot route skips the segment walk. */
  readonly #staticRoutes: ReadonlyMap<string, { readonly route: CompiledRoute; readonly params: Readonly<Record<string, string>> }>;
  readonly #options: ApiServerOptions;
  #closing = false;
  #handling = 0;
  #drained: (() => void) | undefined;

  constructor(routes: readonly Route[], options: ApiServerOptions) {
    this.#routes = routes.map((route) => ({ ...route, segments: split(route.path) }));
    this.#staticRoutes = new Map(this.#routes.filter((route) => !route.path.includes(':')).map((route) => [`${route.method} ${route.path}`, { route, params: NO_PARAMS }]));
    this.#options = options;
    this.#server = createServer((request, response) => void this.#handle(request, response));
    // A slow client must not hold a connection (and a shutdown) forever.
    this.#server.requestTimeout = 30_000;
    this.#server.headersTimeout = 10_000;
  }

  get isClosing(): boolean {
    return this.#closing;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting connections and requests, and resolves once every request being handled was answered. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (this.#handling > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    // Answers of the last requests carried `Connection: close`; whatever is still open is idle now.
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let routeName = 'unknown';
    this.#handling++;
    try {
      if (this.#closing) throw new ServiceUnavailableError('shutting_down', 'the service is shutting down; retry against another instance or after it restarted');
      const url = request.url ?? '/';
      const plain = isPlainPath(url);
      const pathname = plain ? url : new URL(url, 'http://localhost').pathname;
      const method = request.method ?? 'GET';
      this.#options.authorize?.(request, method, pathname);
      const { route, params } = this.#staticRoutes.get(`${method} ${pathname}`) ?? this.#match(method, pathname);
      routeName = `${route.method} ${route.path}`;
      const body = await this.#readBody(request, route);
      const result = await route.handle({
        params,
        body,
        headers: request.headers,
        // Node builds the distinct headers anew from the raw ones on first use: only routes that need them pay.
        get headersDistinct() {
          return request.headersDistinct;
        },
        // Built on first use: the hot route takes no query.
        get query() {
          return plain ? new URLSearchParams() : new URL(url, 'http://localhost').searchParams;
        },
        remoteAddress: request.socket.remoteAddress,
      });
      this.#respond(request, response, routeName, result);
    } catch (error) {
      if (!(error instanceof HttpError)) this.#options.logger.error({ err: error, route: routeName }, 'request failed');
      const answer = error instanceof HttpError ? error : new HttpError(500, 'internal', 'internal error; see the service log');
      // Messages can echo a destination (a URL with credentials): never show them.
      this.#respond(
        request,
        response,
        routeName,
        { status: answer.status, json: { error: { code: answer.code, message: redactText(answer.message), ...answer.fields } } },
        answer.headers,
      );
    } finally {
      this.#handling--;
      if (this.#handling === 0) this.#drained?.();
    }
  }

  #match(method: string, pathname: string): { readonly route: CompiledRoute; readonly params: Readonly<Record<string, string>> } {
    const segments = split(pathname);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) throw new MethodNotAllowedError(method, pathname, allowed);
    throw new NotFoundError(
      'not_found',
      `no route ${method} ${pathname}; the API has POST /messages, GET /deliveries[/:id], DELETE /deliveries/:id, GET /dead-letters, DELETE /dead-letters/:id, POST /dead-letters[/:id]/redrive, GET /healthz, GET /metrics, POST|DELETE /session, GET / (the dashboard), GET /events`,
    );
  }

  async #readBody(request: IncomingMessage, route: Route): Promise<unknown> {
    if (route.body === 'none') {
      this.#discard(request);
      return undefined;
    }
    const declared = request.headers['content-length'];
    const hasBody = request.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
    if (!hasBody && route.body === 'optional-json') return undefined;
    const type = request.headers['content-type'];
    if (!isJson(type)) {
      this.#discard(request);
      throw new UnsupportedMediaTypeError(type);
    }
    const limit = this.#options.maxBodyBytes;
    if (declared !== undefined && Number(declared) > limit) {
      this.#discard(request);
      throw new PayloadTooLargeError(limit);
    }
    const text = await this.#readText(request, limit);
    if (text.trim() === '') {
      if (route.body === 'optional-json') return undefined;
      throw new BadRequestError('invalid_json', 'the request body is empty; expected a JSON document');
    }
    return parseJson(text, this.#options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH);
  }

  /**
   * The body as text, at most `limit` bytes. Listeners rather than `for await`: the async iterator
   * costs several promises per request, which was ~4% of the service's CPU per message.
   */
  #readText(request: IncomingMessage, limit: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const cleanup = (): void => {
        request.off('data', onData);
        request.off('end', onEnd);
        request.off('error', onError);
        request.off('close', onClose);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limit) {
          cleanup();
          this.#discard(request);
          reject(new PayloadTooLargeError(limit));
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(error);
      };
      // The client went away before the body was complete: nothing to answer.
      const onClose = (): void => {
        if (request.complete) return;
        cleanup();
        reject(new Error('the request was aborted before its body was complete'));
      };
      request.on('data', onData);
      request.on('end', onEnd);
      request.on('error', onError);
      request.on('close', onClose);
    });
  }

  /**
   * Reads and drops the rest of a body that will not be used, so the client can finish sending and read
   * the answer; past a bound the connection is cut instead (nobody should stream gigabytes at us).
   */
  #discard(request: IncomingMessage): void {
    if (request.complete) return;
    let dropped = 0;
    const cap = this.#options.maxBodyBytes * 8;
    request.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > cap) request.socket.destroy();
    });
    request.resume();
  }

  #respond(request: IncomingMessage, response: ServerResponse, route: string, result: RouteResult, extraHeaders: Readonly<Record<string, string>> = NO_HEADERS): void {
    this.#options.onResponse?.(route, result.status);
    if (response.headersSent || response.destroyed) return;
    // A stream stays open past close()'s drain; closeAllConnections() ends it with the server.
    if ('open' in result) return result.open(response);
    const [payload, contentType] = 'json' in result ? [JSON.stringify(result.json), 'application/json; charset=utf-8'] : [result.text, result.contentType];
    const headers: Record<string, string | number> =
      result.headers === undefined && extraHeaders === NO_HEADERS
        ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
        : { ...extraHeaders, ...result.headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) };
    // While closing, or when the body was not read to its end, the connection is not reused.
    if (this.#closing || !request.complete) headers.Connection = 'close';
    response.writeHead(result.status, headers);
    response.end(payload);
  }
}

export const DEFAULT_MAX_JSON_DEPTH = 64;

/** JSON.parse, refusing what it would accept but change or choke on later (json-limits.ts). */
function parseJson(text: string, maxDepth: number): unknown {
  // The depth is checked first: the text is not even parsed when it is too deep.
  const scan = scanJson(text, maxDepth);
  if (scan.tooDeep) throw new BadRequestError('json_too_deep', `the request body nests objects and arrays deeper than ${maxDepth} levels (MAX_JSON_DEPTH)`);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new BadRequestError('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (scan.unsafeInteger !== undefined) {
    const { literal, offset } = scan.unsafeInteger;
    throw new BadRequestError(
      'unsafe_integer',
      `the integer ${literal.length > 40 ? `${literal.slice(0, 40)}...` : literal} at character ${offset} is beyond 2^53-1 (${Number.MAX_SAFE_INTEGER}) and would not arrive exactly; send it as a string`,
    );
  }
  return value;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Letters, digits, '-', '_' and single slashes: what URL would hand back unchanged. */
const PLAIN_PATH = /^\/[A-Za-z0-9_/-]*$/;

/**
 * Whether the request target is a plain path (what the API's clients send on the hot route), taken as
 * it is; anything else goes through URL, which also normalises dot segments and encodings.
 */
function isPlainPath(raw: string): boolean {
  return PLAIN_PATH.test(raw) && !raw.includes('//');
}

function split(path: string): string[] {
  return path.split('/').filter((segment) => segment.length > 0);
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const got = actual[i]!;
    if (expected.startsWith(':')) params[expected.slice(1)] = decodeSegment(got);
    else if (expected !== got) return undefined;
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError('invalid_path', `malformed percent-encoding in ${JSON.stringify(segment)}`);
  }
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === 'application/json') return true;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'));
}
