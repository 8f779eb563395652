/**
 * The service's settings: environment variables, optionally under a JSON file named by STEADFAST_CONFIG
 * (same settings, camelCase keys; the environment wins). Everything is validated before anything starts,
 * and a wrong value becomes one ConfigError naming the setting.
 */
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from '../src/actor/errors.js';
import { HttpDestinationPolicy } from '../delivery/http/allowed-hosts.js';
import { REDACTED, redactUrl as redactUrlValue } from '../delivery/redaction.js';
import { isLoopbackHost } from './auth.js';
import { ConfigError } from './errors.js';

export interface ServiceConfig {
  readonly port: number;
  readonly host: string;
  readonly apiToken: string | undefined;
  readonly allowUnauthenticated: boolean;
  readonly dataDir: string;
  readonly pgUrl: string | undefined;
  readonly pgSchema: string;
  readonly mysqlUrl: string | undefined;
  readonly amqpUrl: string | undefined;
  readonly amqpServiceName: string;
  readonly logLevel: string;
  readonly logPretty: boolean;
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
  readonly redeliverIntervalMs: number;
  readonly redeliveryMaxIntervalMs: number;
  readonly deadLetterAfterAttempts: number;
  readonly maxUnconfirmedMessages: number;
  readonly maxUnconfirmedBytes: number;
  readonly httpTimeoutMs: number;
  readonly httpMaxConcurrency: number;
  readonly httpAllowedHosts: readonly string[] | undefined;
  readonly shutdownTimeoutMs: number;
  readonly snapshotEvery: number;
  readonly heapGrowingPercent: number;
}

type Parse<T> = (value: unknown) => T;

interface Setting<K extends keyof ServiceConfig> {
  readonly env: string;
  readonly key: K;
  readonly fallback: ServiceConfig[K];
  readonly parse: Parse<ServiceConfig[K]>;
  readonly describe: string;
}

/** Thrown by parsers; turned into a ConfigError that names the setting where it came from. */
class Invalid {
  constructor(readonly message: string) {}
}

const show = (value: unknown): string => JSON.stringify(typeof value === 'string' ? redactUrl(value) : value) ?? String(value);

function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parse<number> {
  return (value) => {
    const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new Invalid(`must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got ${show(value)}`);
    }
    return number;
  };
}

function text(pattern?: RegExp, hint?: string): Parse<string> {
  return (value) => {
    if (typeof value !== 'string' || value.trim() === '') throw new Invalid(`must be a non-empty string, got ${show(value)}`);
    if (pattern && !pattern.test(value)) throw new Invalid(`${hint ?? `must match ${pattern}`}, got ${show(value)}`);
    return value;
  };
}

function url(protocols: readonly string[], example: string): Parse<string | undefined> {
  return (value) => {
    if (typeof value !== 'string') throw new Invalid(`must be a URL like ${example}, got ${show(value)}`);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new Invalid(`must be a URL like ${example}, got ${show(value)}`);
    }
    if (!protocols.includes(parsed.protocol)) throw new Invalid(`must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got ${show(value)}`);
    return value;
  };
}

const boolean: Parse<boolean> = (value) => {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(1|true|yes)$/i.test(value)) return true;
  if (typeof value === 'string' && /^(0|false|no)$/i.test(value)) return false;
  throw new Invalid(`must be 1 or 0 (true or false), got ${show(value)}`);
};

/** A secret: checked, never echoed. */
const apiToken: Parse<string | undefined> = (value) => {
  if (typeof value !== 'string') throw new Invalid('must be a string');
  if (value.length < 16) throw new Invalid(`must be at least 16 characters (a random one, e.g. openssl rand -hex 32); the one given has ${value.length}`);
  if (!/^[\x21-\x7e]+$/.test(value)) throw new Invalid('must be printable ASCII without spaces (it travels in an Authorization: Bearer header)');
  return value;
};

/** Comma-separated (environment) or an array (file); each entry checked by the HTTP transport's policy. */
const allowedHosts: Parse<readonly string[] | undefined> = (value) => {
  const entries =
    typeof value === 'string'
      ? value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '')
      : value;
  if (!Array.isArray(entries) || entries.length === 0 || entries.some((entry) => typeof entry !== 'string')) {
    throw new Invalid(`must be a comma-separated list of hosts, *.wildcards or CIDR ranges (e.g. "hooks.example.com,*.internal.example.com,10.0.0.0/8"), got ${show(value)}`);
  }
  try {
    new HttpDestinationPolicy(entries as string[]);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new Invalid(error.message.replace(/^allowedHosts /, ''));
    throw error;
  }
  return entries as string[];
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function setting<K extends keyof ServiceConfig>(env: string, key: K, fallback: ServiceConfig[K], parse: Parse<ServiceConfig[K]>, describe: string): Setting<K> {
  return { env, key, fallback, parse, describe };
}

/** Every setting, in the order of the README's configuration table. */
export const SETTINGS = [
  setting('PORT', 'port', 8080, integer(0, 65_535), 'HTTP port (0 picks a free one; the chosen port is logged)'),
  setting('HOST', 'host', '127.0.0.1', text(), 'interface to listen on; loopback unless set (0.0.0.0 for all)'),
  setting('API_TOKEN', 'apiToken', undefined, apiToken, 'bearer token every API request but GET /healthz needs (at least 16 characters); required with a non-loopback HOST'),
  setting('ALLOW_UNAUTHENTICATED', 'allowUnauthenticated', false, boolean, 'start on a non-loopback HOST without API_TOKEN (logs a warning)'),
  setting('DATA_DIR', 'dataDir', './data', text(), 'directory of the SQLite journal and snapshots (embedded default)'),
  setting('PG_URL', 'pgUrl', undefined, url(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/db'), 'use PostgreSQL for journal and snapshots instead of SQLite'),
  setting(
    'PG_SCHEMA',
    'pgSchema',
    'steadfast',
    text(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain SQL identifier (letters, digits, _)'),
    'PostgreSQL schema (created by the migration)',
  ),
  setting(
    'MYSQL_URL',
    'mysqlUrl',
    undefined,
    url(['mysql:', 'mariadb:'], 'mysql://user:password@host:3306/db'),
    'use MySQL 8 or MariaDB 10.6+ for journal and snapshots instead of SQLite (tables in the database the URL names)',
  ),
  setting('AMQP_URL', 'amqpUrl', undefined, url(['amqp:', 'amqps:'], 'amqp://guest:guest@127.0.0.1:5672'), 'enable the RabbitMQ transport'),
  setting(
    'AMQP_SERVICE_NAME',
    'amqpServiceName',
    'steadfast',
    text(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be letters, digits and _ . : -'),
    'names the reply queue (<name>.replies) and the AMQP appId',
  ),
  setting('LOG_LEVEL', 'logLevel', 'info', text(new RegExp(`^(${LOG_LEVELS.join('|')})$`), `must be one of ${LOG_LEVELS.join(', ')}`), 'pino log level'),
  setting('LOG_PRETTY', 'logPretty', false, boolean, 'human-readable logs (built in: one line per entry, no pino-pretty needed)'),
  setting('MAX_BODY_BYTES', 'maxBodyBytes', 1_048_576, integer(1, 64 * 1_048_576), 'largest request body accepted; larger ones get 413'),
  setting('MAX_JSON_DEPTH', 'maxJsonDepth', 64, integer(2, 1000), 'request bodies nesting objects and arrays deeper than this get 400 json_too_deep'),
  setting('REDELIVER_INTERVAL_MS', 'redeliverIntervalMs', 5000, integer(10), 'first redelivery after this long without a confirmation'),
  setting('REDELIVERY_MAX_INTERVAL_MS', 'redeliveryMaxIntervalMs', 60_000, integer(10), 'redelivery backoff doubles up to this'),
  setting('DEAD_LETTER_AFTER_ATTEMPTS', 'deadLetterAfterAttempts', 0, integer(0), 'dead-letter a delivery after this many attempts (0: retry forever)'),
  setting('MAX_UNCONFIRMED_MESSAGES', 'maxUnconfirmedMessages', 100_000, integer(1), 'unconfirmed deliveries held at most; past it POST /messages and redrive answer 429'),
  setting(
    'MAX_UNCONFIRMED_BYTES',
    'maxUnconfirmedBytes',
    256 * 1_048_576,
    integer(1),
    'serialized payload bytes of unconfirmed deliveries held at most; past it POST /messages and redrive answer 429',
  ),
  setting('HTTP_TIMEOUT_MS', 'httpTimeoutMs', 10_000, integer(1), 'HTTP destinations: an attempt without a complete answer in this time fails'),
  setting('HTTP_MAX_CONCURRENCY', 'httpMaxConcurrency', 64, integer(1, 10_000), 'HTTP destinations: requests in flight at most'),
  setting(
    'HTTP_ALLOWED_HOSTS',
    'httpAllowedHosts',
    undefined,
    allowedHosts,
    'HTTP destinations: only these hosts (names, *.wildcards, CIDR ranges, optional :port); link-local and cloud-metadata addresses are refused either way',
  ),
  setting('SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs', 30_000, integer(1), 'graceful shutdown gives up (exit 1) after this long'),
  setting('SNAPSHOT_EVERY', 'snapshotEvery', 1000, integer(1), 'the outbox saves a snapshot after this many events'),
  setting(
    'HEAP_GROWING_PERCENT',
    'heapGrowingPercent',
    20,
    integer(0, 1000),
    "once the heap holds more than 64 MiB, V8 collects when it grew this much past what is alive (0: V8's own policy throughout); keeps RSS near the payloads held (service/heap-policy.ts)",
  ),
] as const;

export const CONFIG_FILE_VARIABLE = 'STEADFAST_CONFIG';

function readConfigFile(path: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(CONFIG_FILE_VARIABLE, `names a file that cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError(CONFIG_FILE_VARIABLE, `file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(CONFIG_FILE_VARIABLE, `file ${path} must hold a JSON object like { "port": 8080 }`);
  }
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`${key} (in ${path})`, `is not a setting; known: ${[...known].join(', ')}`);
  }
  return parsed as Record<string, unknown>;
}

type SettingKey = (typeof SETTINGS)[number]['key'];

/**
 * Reads and validates `keys` (environment over the STEADFAST_CONFIG file); `overrides` (command-line
 * flags) win over both and are named as given in errors.
 */
function readSettings(
  env: NodeJS.ProcessEnv,
  keys: ReadonlySet<SettingKey> | undefined,
  overrides: Partial<Record<SettingKey, { value: string; origin: string }>> = {},
): Record<string, unknown> {
  const filePath = env[CONFIG_FILE_VARIABLE];
  const file = filePath !== undefined && filePath !== '' ? readConfigFile(filePath) : {};
  const values: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    if (keys !== undefined && !keys.has(s.key)) continue;
    const fromEnv = env[s.env];
    const override = overrides[s.key];
    // An empty variable counts as unset: `PG_URL= npm start` is how shells unset things inline.
    const [raw, origin] =
      override !== undefined ? [override.value, override.origin] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, s.env] : [file[s.key], `${s.key} (in ${filePath})`];
    if (raw === undefined || raw === null) {
      values[s.key] = s.fallback;
      continue;
    }
    try {
      values[s.key] = s.parse(raw);
    } catch (error) {
      if (error instanceof Invalid) throw new ConfigError(origin, error.message);
      throw error;
    }
  }
  return values;
}

/** Reads and validates every setting; throws ConfigError on the first wrong one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const config = readSettings(env, undefined) as unknown as ServiceConfig;
  if (config.redeliveryMaxIntervalMs < config.redeliverIntervalMs) {
    throw new ConfigError('REDELIVERY_MAX_INTERVAL_MS', `(${config.redeliveryMaxIntervalMs}) must be at least REDELIVER_INTERVAL_MS (${config.redeliverIntervalMs})`);
  }
  checkOneDatabase(config);
  if (!isLoopbackHost(config.host) && config.apiToken === undefined && !config.allowUnauthenticated) {
    throw new ConfigError(
      'HOST',
      `${show(config.host)} is not a loopback address and API_TOKEN is not set: anyone who reaches it could submit messages and read deliveries; set API_TOKEN (or ALLOW_UNAUTHENTICATED=true to accept that)`,
    );
  }
  return config;
}

/** One store per service: both URLs set would leave which one holds the outbox to chance. */
function checkOneDatabase(config: Pick<ServiceConfig, 'pgUrl' | 'mysqlUrl'>): void {
  if (config.pgUrl !== undefined && config.mysqlUrl !== undefined) {
    throw new ConfigError('MYSQL_URL', 'cannot be combined with PG_URL: set the one the journal should use');
  }
}

export type MigrationConfig = Pick<ServiceConfig, 'pgUrl' | 'pgSchema' | 'mysqlUrl'>;

const MIGRATION_SETTINGS: ReadonlySet<SettingKey> = new Set(['pgUrl', 'pgSchema', 'mysqlUrl']);

/**
 * The settings `steadfast migrate` needs, read exactly as the service reads them (PG_URL, PG_SCHEMA,
 * MYSQL_URL, STEADFAST_CONFIG), so a migration prepares the schema the service will use. A
 * `--connection-string` stands for PG_URL or MYSQL_URL by its scheme. Only these are read:
 * a deploy pipeline's environment may lack what only a running service needs.
 */
export function loadMigrationConfig(env: NodeJS.ProcessEnv = process.env, flags: { connectionString?: string; schema?: string } = {}): MigrationConfig {
  const overrides: Partial<Record<SettingKey, { value: string; origin: string }>> = {};
  let keys = MIGRATION_SETTINGS;
  if (flags.connectionString !== undefined) {
    const mysql = /^(mysql|mariadb):/i.test(flags.connectionString);
    overrides[mysql ? 'mysqlUrl' : 'pgUrl'] = { value: flags.connectionString, origin: '--connection-string' };
    // The flag names the database to migrate: the other URL of the environment is not read.
    keys = new Set(mysql ? ['mysqlUrl'] : ['pgUrl', 'pgSchema']);
  }
  if (flags.schema !== undefined) overrides.pgSchema = { value: flags.schema, origin: '--schema' };
  const config = { pgUrl: undefined, mysqlUrl: undefined, pgSchema: 'steadfast', ...readSettings(env, keys, overrides) } as MigrationConfig;
  checkOneDatabase(config);
  return config;
}

/**
 * Credentials never reach a log line: `postgres://user:secret@host?password=x` becomes
 * `postgres://user:***@host?password=***` (the rules live in delivery/redaction.ts).
 */
export function redactUrl(value: string): string {
  return redactUrlValue(value);
}

/** The config as it may be logged. */
export function redactedConfig(config: ServiceConfig): Record<string, unknown> {
  return {
    ...config,
    pgUrl: config.pgUrl === undefined ? undefined : redactUrl(config.pgUrl),
    mysqlUrl: config.mysqlUrl === undefined ? undefined : redactUrl(config.mysqlUrl),
    amqpUrl: config.amqpUrl === undefined ? undefined : redactUrl(config.amqpUrl),
    apiToken: config.apiToken === undefined ? undefined : REDACTED,
  };
}
