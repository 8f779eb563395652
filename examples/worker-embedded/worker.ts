/**
 * An existing worker process with steadfast embedded. It does its jobs as before; the one thing that
 * changes is how it tells the billing service about each finished job: through the durable outbox,
 * which persists the notification (SQLite under DATA_DIR) before `send` resolves and delivers it
 * at-least-once, across crashes. Each job's notification carries the idempotency key `job-<n>`, so
 * redoing jobs after a crash does not notify twice.
 *
 *   DATA_DIR=./data/worker RECEIVER_URL=http://127.0.0.1:9000/billing JOBS=200 node --import tsx examples/worker-embedded/worker.ts
 */
import { join } from 'node:path';
import pino from 'pino';
import { ActorSystem, Outbox } from 'steadfast';
import { sqliteJournal, sqliteSnapshotStore } from 'steadfast/sqlite';
import { httpDestination, httpTransport } from 'steadfast/http';

const dataDir = process.env.DATA_DIR ?? './data/worker-embedded';
const receiverUrl = process.env.RECEIVER_URL;
const jobs = Number(process.env.JOBS ?? 200);
if (!receiverUrl || !Number.isSafeInteger(jobs) || jobs < 1) {
  console.error('usage: RECEIVER_URL=http://host:port/path [JOBS=200] [DATA_DIR=./data/worker-embedded] worker.ts');
  process.exit(2);
}

const path = join(dataDir, 'worker.db');
const system = ActorSystem.create('worker', {
  journal: sqliteJournal({ path }),
  snapshotStore: sqliteSnapshotStore({ path }),
  transports: [httpTransport({ timeoutMs: 2000 })],
  // Failed attempts are expected here (the receiver fails on purpose); errors only.
  logger: pino({ level: 'error' }),
});
const outbox = Outbox.start(system, { redeliverInterval: 200, redeliveryBackoff: { maxInterval: 2000 } });

process.on('SIGTERM', () => {
  // Everything sent is persisted; what is unconfirmed goes out again on the next start.
  void system.terminate().then(() => process.exit(0));
});

const recovered = await outbox.stats();
console.log(`worker ${process.pid} started: ${recovered.accepted} notifications accepted so far, ${recovered.inFlight} unconfirmed and being sent again`);

/** The worker's own job (stands in for real work). */
async function doJob(n: number): Promise<{ job: number; amount: number }> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { job: n, amount: n * 10 };
}

for (let n = 1; n <= jobs; n++) {
  const result = await doJob(n);
  const { deliveryId, duplicate } = await outbox.send(httpDestination(receiverUrl), result, { idempotencyKey: `job-${n}` });
  console.log(`job ${n} accepted as delivery ${deliveryId}${duplicate ? ' (accepted before the crash; not sent twice)' : ''}`);
}

while ((await outbox.stats()).inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 100));
console.log('all notifications confirmed');
await system.terminate();
