/**
 * The service against the embedded library on the HTTP-delivery workload of issue 16
 * (`bench/http-workload.ts`): the service (`dist/service/main.js`, as `npm start` runs it, on
 * PostgreSQL) in a child process, fed by a load generator in another (`bench/service-load.ts`, 64
 * concurrent clients posting `POST /messages`), against `outboxRound` (the Outbox in this process, fed
 * by `outbox.send`), in alternating rounds. CPU per message: the service process's (from /proc) against
 * this process's in the embedded round.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Benchmark, type BenchResult, elapsedMsSince, median, perSecond } from './harness.js';
import { IN_FLIGHT, MESSAGES, outboxRound, PG_URL, ROUNDS, type RoundResult, type Sink, startSink, waitUntil, withSchema } from './http-workload.js';

/**
 * Messages sent before each measured round, on both sides. A service runs for days, so it is measured
 * warm: with 500 the fresh service process of every round was still compiling and tiering up its hot
 * code inside the measured window, while the embedded Outbox ran in a process warmed by the rounds
 * before it (2026-12-07: 4 000 took both sides' CPU per message down, and the spread of the ratio from
 * 1.12–1.37 to 1.24–1.31).
 */
const WARMUP = 4000;
const root = fileURLToPath(new URL('..', import.meta.url));
const CLOCK_TICKS_PER_SECOND = 100;

interface RunningService {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the compiled service on PostgreSQL `schema` and resolves once it listens. */
async function startService(schema: string): Promise<RunningService> {
  const profile = process.env.STEADFAST_BENCH_SERVICE_CPU_PROF; // a directory: the service writes a CPU profile there
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), `${root}dist/service/main.js`], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      PG_URL,
      PG_SCHEMA: schema,
      LOG_LEVEL: 'info',
      // As the embedded round: nothing waiting for one of the 64 slots times out or is sent twice.
      HTTP_TIMEOUT_MS: '120000',
      REDELIVER_INTERVAL_MS: '120000',
      REDELIVERY_MAX_INTERVAL_MS: '120000',
      HTTP_MAX_CONCURRENCY: String(IN_FLIGHT),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (!line.includes('steadfast listening')) continue;
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining: a full pipe would stall the service
        resolve((JSON.parse(line) as { url: string }).url);
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the service exited with ${code} before listening`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** user + system CPU of a process, in µs (Linux /proc). */
function cpuMicrosOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 once pid and comm are cut off.
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1_000_000;
}

/**
 * Starts the load generator for messages from..from+count-1; `run()` lets it post and resolves when
 * each message got its 202.
 */
interface LoadReport {
  readonly posted: number;
  readonly rejected: number;
  readonly cpuMicrosPerMessage: number;
}

async function loadGenerator(service: RunningService, sink: Sink, from: number, count: number): Promise<{ run(): Promise<LoadReport> }> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./service-load.ts', import.meta.url)), [service.url, sink.url, String(from), String(count), String(IN_FLIGHT)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the load generator exited with ${code}`)))));
  exited.catch(() => {});
  await Promise.race([new Promise<void>((resolve) => child.once('message', () => resolve())), exited]);
  return {
    run: async () => {
      const done = new Promise<LoadReport>((resolve) => child.once('message', (report) => resolve(report as LoadReport)));
      child.send('go');
      const report = await Promise.race([done, exited]);
      if (report === undefined) throw new Error('the load generator exited without a report');
      return report;
    },
  };
}

async function unconfirmed(service: RunningService): Promise<number> {
  const response = await fetch(`${service.url}/deliveries?limit=1`);
  return ((await response.json()) as { count: number }).count;
}

async function serviceRound(sink: Sink): Promise<RoundResult & { readonly loadCpuMicros: number }> {
  return withSchema('http_service', async (schema) => {
    const service = await startService(schema);
    try {
      const settled = async (posts: number): Promise<void> => waitUntil(async () => (await unconfirmed(service)) === 0 && (await sink.posts()) >= posts);
      const before = await sink.posts();
      await (await loadGenerator(service, sink, 0, WARMUP)).run();
      await settled(before + WARMUP);
      const generator = await loadGenerator(service, sink, WARMUP, MESSAGES);
      const postsBefore = await sink.posts();
      const cpu = cpuMicrosOf(service.pid);
      const started = process.hrtime.bigint();
      const load = await generator.run();
      await settled(postsBefore + MESSAGES);
      const elapsed = elapsedMsSince(started);
      return {
        rate: perSecond(MESSAGES, elapsed),
        cpuMicros: (cpuMicrosOf(service.pid) - cpu) / MESSAGES,
        posts: (await sink.posts()) - postsBefore,
        loadCpuMicros: load.cpuMicrosPerMessage,
      };
    } finally {
      await service.stop();
    }
  });
}

async function serviceAgainstEmbedded(): Promise<readonly BenchResult[]> {
  const sink = await startSink();
  try {
    const embedded: RoundResult[] = [];
    const service: (RoundResult & { readonly loadCpuMicros: number })[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      embedded.push(await outboxRound(sink, { warmup: WARMUP }));
      service.push(await serviceRound(sink));
    }
    const round2 = (value: number): number => Math.round(value * 100) / 100;
    const rateRatios = service.map((result, i) => round2(result.rate / embedded[i]!.rate));
    const rateRatio = median(rateRatios);
    const cpuRatios = service.map((result, i) => Math.round((result.cpuMicros / embedded[i]!.cpuMicros) * 100) / 100);
    const cpuRatio = median(cpuRatios);
    const rows: BenchResult[] = [
      {
        name: `service (child process, load generator in another) / embedded Outbox, HTTP, PostgreSQL (rounds service/embedded: ${service.map((result, i) => `${result.rate}/${embedded[i]!.rate}`).join(', ')}; ratios ${rateRatios.join(', ')})`,
        value: median(service.map((result) => result.rate)),
        unit: 'messages/s',
        baseline: median(embedded.map((result) => result.rate)),
        ratio: rateRatio,
        target: '>= 0.7',
        meetsTarget: rateRatio >= 0.7,
      },
      {
        name: `service CPU per message / embedded Outbox's (service µs: ${service.map((result) => result.cpuMicros.toFixed(0)).join(', ')}; embedded µs: ${embedded.map((result) => result.cpuMicros.toFixed(0)).join(', ')}; ratios ${cpuRatios.join(', ')}; the load generator's own µs: ${service.map((result) => result.loadCpuMicros.toFixed(0)).join(', ')})`,
        value: cpuRatio,
        unit: 'x',
        target: '<= 1.25',
        meetsTarget: cpuRatio <= 1.25,
      },
    ];
    return rows;
  } finally {
    await sink.close();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'service: HTTP, PostgreSQL, service / embedded', needs: ['postgres'], run: serviceAgainstEmbedded }];
