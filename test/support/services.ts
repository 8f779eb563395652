/**
 * Real PostgreSQL, RabbitMQ and MariaDB for integration tests, each test file with names of its own.
 *
 * Where they come from, in order: `PG_URL` / `AMQP_URL` / `MYSQL_URL`; else the servers on 127.0.0.1
 * (the project's machines run all three; MariaDB is started here when it is installed but down); else
 * testcontainers, where a Docker engine answers. When none can be had the
 * suite is skipped with one line saying why, unless `STEADFAST_REQUIRE_SERVICES=1` (CI): then the
 * suite fails, so a broken service can never turn into a green run.
 *
 * Usage in a test file:
 *   const pg = await postgresResource('journal');     // undefined => skip
 *   describe.runIf(pg)('...', () => { ... });
 *   afterAll(() => pg?.cleanup());
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';
import amqp from 'amqplib';
import mysql from 'mysql2/promise';
import { waitUntil } from './eventually.js';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306';

const requireServices = process.env.STEADFAST_REQUIRE_SERVICES === '1';

export interface PostgresResource {
  /** Connection string of the database; use it together with `schema`. */
  readonly connectionString: string;
  /** A schema created for this resource alone (dropped by cleanup). */
  readonly schema: string;
  /** A small pool for assertions made straight against the database. */
  readonly admin: pg.Pool;
  /** Creates one more fresh schema (dropped by cleanup too). */
  newSchema(label?: string): Promise<string>;
  /**
   * Creates a database of the test's own (dropped by cleanup, its sessions ended), for faults that are
   * set per database (`ALTER DATABASE ... allow_connections`, `default_transaction_read_only`).
   */
  newDatabase(label?: string): Promise<{ readonly name: string; readonly connectionString: string }>;
  /**
   * Ends the sessions of `database` whose application_name is one of `applicationNames`, and resolves
   * once they are gone; the pids of the ended sessions.
   */
  endSessions(database: string, applicationNames: readonly string[]): Promise<number[]>;
  cleanup(): Promise<void>;
}

export interface AmqpResource {
  readonly url: string;
  /** Every queue and exchange a test uses starts with this prefix. */
  readonly prefix: string;
  /** `prefix + suffix`; the name is remembered, so cleanup deletes the queue/exchange of that name. */
  name(suffix: string): string;
  /** A connection for assertions and helpers in tests (closed by cleanup). */
  connection(): Promise<amqp.ChannelModel>;
  cleanup(): Promise<void>;
}

function uniqueLabel(label: string): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20);
  return `sf_${safe}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

function unavailable(service: string, reason: string): undefined {
  const line = `${service} unavailable (${reason})`;
  if (requireServices) {
    throw new Error(`${line}; STEADFAST_REQUIRE_SERVICES=1 forbids skipping`);
  }
  console.warn(`[skip] ${line}: integration tests that need it are skipped`);
  return undefined;
}

function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

let containerPgUrl: Promise<string | undefined> | undefined;
let containerAmqpUrl: Promise<string | undefined> | undefined;

async function startContainer(image: string, port: number, env: Record<string, string>): Promise<string | undefined> {
  if (!(await dockerAvailable())) return undefined;
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(image).withEnvironment(env).withExposedPorts(port).withWaitStrategy(Wait.forListeningPorts()).start();
  return `${container.getHost()}:${container.getMappedPort(port)}`;
}

async function resolvePostgresUrl(): Promise<string | undefined> {
  if (process.env.PG_URL) return process.env.PG_URL;
  if (await tcpReachable('127.0.0.1', 5432)) return DEFAULT_PG_URL;
  containerPgUrl ??= startContainer('postgres:16-alpine', 5432, { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
    .then((hostPort) => (hostPort ? `postgres://postgres@${hostPort}/test` : undefined))
    .catch(() => undefined);
  return containerPgUrl;
}

async function resolveAmqpUrl(): Promise<string | undefined> {
  if (process.env.AMQP_URL) return process.env.AMQP_URL;
  if (await tcpReachable('127.0.0.1', 5672)) return DEFAULT_AMQP_URL;
  containerAmqpUrl ??= startContainer('rabbitmq:3-management-alpine', 5672, {})
    .then((hostPort) => (hostPort ? `amqp://guest:guest@${hostPort}` : undefined))
    .catch(() => undefined);
  return containerAmqpUrl;
}

export async function postgresResource(label: string): Promise<PostgresResource | undefined> {
  const connectionString = await resolvePostgresUrl();
  if (!connectionString) return unavailable('PostgreSQL', 'no PG_URL, nothing on 127.0.0.1:5432, no Docker');
  const admin = new pg.Pool({ connectionString, max: 4 });
  admin.on('error', () => {
    // Idle clients die when a test restarts the server or terminates backends; the pool replaces them.
  });
  try {
    await admin.query('select 1');
  } catch (error) {
    await admin.end().catch(() => {});
    return unavailable('PostgreSQL', `${connectionString} refused: ${(error as Error).message}`);
  }
  const schemas: string[] = [];
  const newSchema = async (extra = label): Promise<string> => {
    const schema = uniqueLabel(extra);
    await admin.query(`create schema "${schema}"`);
    schemas.push(schema);
    return schema;
  };
  const schema = await newSchema(label);
  const databases: string[] = [];
  const newDatabase = async (extra = label): Promise<{ name: string; connectionString: string }> => {
    const name = uniqueLabel(extra);
    await admin.query(`create database "${name}"`);
    databases.push(name);
    const url = new URL(connectionString);
    url.pathname = `/${name}`;
    return { name, connectionString: url.toString() };
  };
  const endSessions = async (database: string, applicationNames: readonly string[]): Promise<number[]> => {
    // Two steps, never pg_terminate_backend in the WHERE clause: the planner may call it before the other
    // conditions, on every backend of the server (it did once).
    const found = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and application_name = any($2::text[])', [database, applicationNames]);
    const pids = found.rows.map((row) => row.pid);
    await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as t(pid)', [pids]);
    await waitUntil('the ended sessions are gone', async () => (await admin.query('select 1 from pg_stat_activity where pid = any($1::int[])', [pids])).rowCount === 0, 5000, 20);
    return pids;
  };
  return {
    connectionString,
    schema,
    admin,
    newSchema,
    newDatabase,
    endSessions,
    async cleanup() {
      for (const name of schemas) {
        await admin.query(`drop schema if exists "${name}" cascade`).catch(() => {});
      }
      for (const name of databases) {
        await admin.query(`drop database if exists "${name}" with (force)`).catch(() => {});
      }
      await admin.end().catch(() => {});
    },
  };
}

export async function amqpResource(label: string): Promise<AmqpResource | undefined> {
  const url = await resolveAmqpUrl();
  if (!url) return unavailable('RabbitMQ', 'no AMQP_URL, nothing on 127.0.0.1:5672, no Docker');
  try {
    const probe = await amqp.connect(url);
    await probe.close();
  } catch (error) {
    return unavailable('RabbitMQ', `${url.replace(/\/\/[^@]*@/, '//***@')} refused: ${(error as Error).message}`);
  }
  const prefix = `${uniqueLabel(label)}.`;
  const names = new Set<string>();
  const connections: amqp.ChannelModel[] = [];
  return {
    url,
    prefix,
    name(suffix: string) {
      const name = prefix + suffix;
      names.add(name);
      return name;
    },
    async connection() {
      const connection = await amqp.connect(url);
      connection.on('error', () => {});
      connections.push(connection);
      return connection;
    },
    async cleanup() {
      for (const connection of connections) await connection.close().catch(() => {});
      const connection = await amqp.connect(url).catch(() => undefined);
      if (!connection) return;
      connection.on('error', () => {});
      for (const name of names) {
        // A failed delete closes the channel, so every name gets a channel of its own.
        const channel = await connection.createChannel().catch(() => undefined);
        if (!channel) continue;
        channel.on('error', () => {});
        await channel.deleteQueue(name).catch(() => {});
        const exchangeChannel = await connection.createChannel().catch(() => undefined);
        exchangeChannel?.on('error', () => {});
        await exchangeChannel?.deleteExchange(name).catch(() => {});
        await channel.close().catch(() => {});
        await exchangeChannel?.close().catch(() => {});
      }
      await connection.close().catch(() => {});
    },
  };
}

export interface MysqlResource {
  /** Connection string naming a database created for this resource alone (dropped by cleanup). */
  readonly connectionString: string;
  readonly database: string;
  /** A small pool (on that database) for assertions made straight against the server. */
  readonly admin: mysql.Pool;
  /** Creates one more fresh database (dropped by cleanup too) and returns its connection string. */
  newDatabase(label?: string): Promise<string>;
  cleanup(): Promise<void>;
}

let containerMysqlUrl: Promise<string | undefined> | undefined;
let localMariadb: Promise<boolean> | undefined;

/** Starts the machine's MariaDB when it is installed but not running (as .ci/run does). */
async function startLocalMariadb(): Promise<boolean> {
  if (!existsSync('/usr/sbin/mariadbd')) return false;
  spawnSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd', '--', '--user=mysql'], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await tcpReachable('127.0.0.1', 3306)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

async function resolveMysqlUrl(): Promise<string | undefined> {
  if (process.env.MYSQL_URL) return process.env.MYSQL_URL;
  if (await tcpReachable('127.0.0.1', 3306)) return DEFAULT_MYSQL_URL;
  localMariadb ??= startLocalMariadb();
  if (await localMariadb) return DEFAULT_MYSQL_URL;
  containerMysqlUrl ??= startContainer('mariadb:10.11', 3306, { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1' })
    .then((hostPort) => (hostPort ? `mysql://root@${hostPort}` : undefined))
    .catch(() => undefined);
  return containerMysqlUrl;
}

/** `url` with its path replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function mysqlResource(label: string): Promise<MysqlResource | undefined> {
  const serverUrl = await resolveMysqlUrl();
  if (!serverUrl) return unavailable('MariaDB/MySQL', 'no MYSQL_URL, nothing on 127.0.0.1:3306, no Docker');
  const server = mysql.createPool({ uri: withDatabase(serverUrl, ''), connectionLimit: 2 });
  try {
    await server.query('select 1');
  } catch (error) {
    await server.end().catch(() => {});
    return unavailable('MariaDB/MySQL', `${serverUrl.replace(/\/\/[^@]*@/, '//***@')} refused: ${(error as Error).message}`);
  }
  const databases: string[] = [];
  const newDatabase = async (extra = label): Promise<string> => {
    const database = uniqueLabel(extra);
    await server.query(`create database \`${database}\``);
    databases.push(database);
    return withDatabase(serverUrl, database);
  };
  const connectionString = await newDatabase(label);
  const database = databases[0]!;
  const admin = mysql.createPool({ uri: connectionString, connectionLimit: 4, supportBigNumbers: true });
  return {
    connectionString,
    database,
    admin,
    newDatabase,
    async cleanup() {
      await admin.end().catch(() => {});
      for (const name of databases) await server.query(`drop database if exists \`${name}\``).catch(() => {});
      await server.end().catch(() => {});
    },
  };
}
