/**
 * A tiny benchmark harness. Each `bench/*.bench.ts` file exports `benchmarks: Benchmark[]`; `npm run bench`
 * runs them in order (or those whose name contains the CLI argument) and prints one table. Figures that
 * compare steadfast with a raw driver measure both in the same run and report the ratio.
 */
import { connect } from 'node:net';

export interface BenchResult {
  /** What was measured, e.g. "persist, 1000 actors, PostgreSQL". */
  readonly name: string;
  readonly value: number;
  /** e.g. "events/s", "ms", "bytes/actor". */
  readonly unit: string;
  /** The raw baseline measured in the same run (same unit), when there is one. */
  readonly baseline?: number;
  /** value / baseline (or baseline / value for latency-like units where lower is better). */
  readonly ratio?: number;
  /** The target from the issue, in words, e.g. ">= 0.6 ratio" or "<= 1024". */
  readonly target?: string;
  /** Does the figure meet the target? */
  readonly meetsTarget?: boolean;
}

export interface Benchmark {
  readonly name: string;
  /** Benchmarks that need PostgreSQL, RabbitMQ or MySQL say so, so that `npm run bench` can skip them with a reason. */
  readonly needs?: readonly ('postgres' | 'rabbitmq' | 'mysql')[];
  /** Runs only when the filter names it (`npm run bench -- peers`): too long for every full run. */
  readonly optIn?: boolean;
  run(): Promise<readonly BenchResult[]>;
}

export function perSecond(count: number, elapsedMs: number): number {
  return Math.round((count / elapsedMs) * 1000);
}

export function percentile(sortedValues: readonly number[], p: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const index = Math.min(sortedValues.length - 1, Math.ceil((p / 100) * sortedValues.length) - 1);
  return sortedValues[Math.max(0, index)]!;
}

export function elapsedMsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Does a TCP connection to the URL's host and port (or 127.0.0.1 and `fallbackPort`) open within a second? */
export function reachable(url: string | undefined, fallbackPort: number): Promise<boolean> {
  let host = '127.0.0.1';
  let port = fallbackPort;
  if (url) {
    const parsed = new URL(url);
    host = parsed.hostname;
    port = Number(parsed.port) || fallbackPort;
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
