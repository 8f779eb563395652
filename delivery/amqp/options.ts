/**
 * Option validation for the RabbitMQ bridge. Options are plain objects, checked once where they enter
 * (the factory functions), so a mistake fails at start-up with the option's full name in the message
 * rather than as a confusing broker error minutes later.
 */
import type { Logger } from 'pino';
import { InvalidOptionError } from '../../src/actor/errors.js';

export interface ReconnectOptions {
  /** First delay after a lost connection, ms. Default 100. */
  readonly minDelayMs?: number;
  /** Upper bound of the delay, ms. Default 10 000. */
  readonly maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  readonly factor?: number;
}

export interface ResolvedReconnect {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function requireObject(value: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new InvalidOptionError(`${name} must be a plain object, got ${typeName(value)}`);
  return value;
}

export function requireString(value: unknown, name: string, { allowEmpty = false } = {}): string {
  if (typeof value !== 'string') throw new InvalidOptionError(`${name} must be a string, got ${typeName(value)}`);
  if (!allowEmpty && value.length === 0) throw new InvalidOptionError(`${name} must not be empty`);
  // AMQP short strings (names, routing keys) are limited to 255 bytes.
  if (Buffer.byteLength(value) > 255) throw new InvalidOptionError(`${name} is longer than 255 bytes`);
  return value;
}

export function optionalString(value: unknown, name: string, fallback: string): string {
  return value === undefined ? fallback : requireString(value, name);
}

export function optionalInteger(value: unknown, name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidOptionError(`${name} must be an integer, got ${typeName(value)}`);
  }
  if (value < min || value > max) throw new InvalidOptionError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function optionalNumber(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidOptionError(`${name} must be a finite number, got ${typeName(value)}`);
  }
  if (value < min) throw new InvalidOptionError(`${name} must be at least ${min}, got ${value}`);
  return value;
}

export function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${name} must be a boolean, got ${typeName(value)}`);
  return value;
}

export function optionalFunction<F extends (...args: never[]) => unknown>(value: unknown, name: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionError(`${name} must be a function, got ${typeName(value)}`);
  return value as F;
}

export function oneOf<const T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function optionalLogger(value: unknown, name: string): Logger | undefined {
  if (value === undefined) return undefined;
  const candidate = value as Partial<Logger>;
  if (typeof candidate.info !== 'function' || typeof candidate.warn !== 'function' || typeof candidate.child !== 'function') {
    throw new InvalidOptionError(`${name} must be a pino logger`);
  }
  return value as Logger;
}

export function resolveReconnect(value: unknown, name: string): ResolvedReconnect {
  if (value === undefined) return { minDelayMs: 100, maxDelayMs: 10_000, factor: 2 };
  const raw = requireObject(value, name);
  const minDelayMs = optionalInteger(raw.minDelayMs, `${name}.minDelayMs`, 100, { min: 1 });
  const maxDelayMs = optionalInteger(raw.maxDelayMs, `${name}.maxDelayMs`, Math.max(10_000, minDelayMs), { min: minDelayMs });
  const factor = optionalNumber(raw.factor, `${name}.factor`, 2, 1);
  return { minDelayMs, maxDelayMs, factor };
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
