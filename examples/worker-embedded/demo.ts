/**
 * `npm run example:worker-embedded`: runs a billing receiver (fails every fourth request), starts the
 * worker, kills it with SIGKILL half-way through its jobs, starts it again, and checks that the receiver
 * got every job's notification. Duplicates are possible (at-least-once); the receiver sees the same
 * Idempotency-Key on them and would apply each once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const JOBS = Number(process.env.JOBS ?? 200);
const killAfter = Math.floor(JOBS / 2);
const dataDir = mkdtempSync(join(tmpdir(), 'steadfast-worker-'));

const received = new Map<number, number>();
const keys = new Set<string>();
let requests = 0;
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (++requests % 4 === 0) {
      response.writeHead(503).end();
      return;
    }
    const { job } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { job: number };
    received.set(job, (received.get(job) ?? 0) + 1);
    keys.add(String(request.headers['idempotency-key']));
    response.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/billing`;

/** Starts the worker; `onLine` sees each output line and may kill it. Resolves with how it ended. */
function runWorker(onLine: (line: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'worker.ts')], {
    env: { ...process.env, DATA_DIR: dataDir, RECEIVER_URL: receiverUrl, JOBS: String(JOBS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => onLine(line, () => child.kill('SIGKILL')));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const quiet = (line: string): boolean => /^job \d+ accepted/.test(line) && !/^job (1|\d*0) accepted/.test(line);

let exitCode = 1;
try {
  console.log(`demo: receiver at ${receiverUrl}; worker data in ${dataDir}; ${JOBS} jobs`);
  const first = await runWorker((line, kill) => {
    if (!quiet(line)) console.log(`  [worker 1] ${line}`);
    if (line.startsWith(`job ${killAfter} accepted`)) {
      console.log(`demo: kill -9 the worker right after job ${killAfter} was accepted`);
      kill();
    }
  });
  console.log(`demo: worker 1 ended by ${first.signal ?? `exit ${first.code}`}; the receiver has ${received.size} of ${JOBS} jobs so far`);

  const second = await runWorker((line) => {
    if (!quiet(line)) console.log(`  [worker 2] ${line}`);
  });
  const missing = Array.from({ length: JOBS }, (_, i) => i + 1).filter((job) => !received.has(job));
  const duplicates = [...received.values()].reduce((sum, count) => sum + count - 1, 0);
  console.log(`demo: worker 2 ended with exit ${second.code}`);
  console.log(
    `demo: ${JOBS - missing.length}/${JOBS} jobs delivered; ${duplicates} duplicate deliveries (at-least-once), ${keys.size} distinct Idempotency-Keys; ${requests - [...received.values()].reduce((a, b) => a + b, 0)} requests answered 503 and redelivered`,
  );
  if (first.signal === 'SIGKILL' && second.code === 0 && missing.length === 0 && keys.size === JOBS) {
    console.log('demo: OK — nothing lost across kill -9');
    exitCode = 0;
  } else {
    console.log(`demo: FAILED — missing jobs: ${missing.join(', ') || 'none'}`);
  }
} finally {
  receiver.closeAllConnections();
  receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
