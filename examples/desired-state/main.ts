/**
 * `npm run example:desired-state`: the same command stream (with two redelivered duplicates, one of
 * them late) through the old worker and the new one, against the same flaky distribution (every third
 * call fails). In-process by default; with AMQP_URL the commands travel through RabbitMQ queues.
 */
import pino from 'pino';
import { DELIVERED, expectedStates, type DesiredState } from './commands.js';
import { Distribution } from './distribution.js';
import { runBefore } from './before.js';
import { runAfter } from './after.js';
import { runAcross } from './across.js';
import { inProcessQueue, rabbitQueue, type CommandSource } from './source.js';

const logger = pino({ level: 'warn' });
const expected = expectedStates();
const source: CommandSource = process.env.AMQP_URL ? await rabbitQueue(process.env.AMQP_URL, 'demo') : inProcessQueue();
const show = (state: DesiredState | undefined): string => (state ? `files=[${state.files.join(', ')}] published=${state.published}` : 'nothing');

try {
  console.log(`commands come from ${source.description}: ${DELIVERED.length} deliveries of ${new Set(DELIVERED.map((m) => m.messageId)).size} messages\n`);

  const before = new Distribution();
  const beforeReport = await runBefore(source, DELIVERED, before);
  console.log('BEFORE: consume a command, call the distribution with it, ack');
  console.log(`  lost when the call failed: ${beforeReport.lost.join('; ') || 'none'}`);

  const after = new Distribution();
  const afterReport = await runAfter(source, DELIVERED, after, expected, logger, { restartAfter: 5 });
  console.log('AFTER: ingest once into a persistent entity (desired state), push it at-least-once until confirmed');
  console.log(`  duplicates recognised and ignored: ${afterReport.duplicatesIgnored.join(', ') || 'none'}; worker restarted ${afterReport.restarts}x mid-stream`);
  console.log(`  failed calls to the distribution: ${after.failures} (each pushed again until confirmed)\n`);

  let beforeDiverged = 0;
  for (const [id, state] of expected) {
    const beforeOk = JSON.stringify(before.view(id)) === JSON.stringify(state);
    const afterOk = JSON.stringify(after.view(id)) === JSON.stringify(state);
    if (!beforeOk) beforeDiverged++;
    console.log(`${id} desired: ${show(state)}`);
    console.log(`  before: ${show(before.view(id))} ${beforeOk ? '(ok)' : '(DIVERGED)'}`);
    console.log(`  after:  ${show(after.view(id))} ${afterOk ? '(ok)' : '(DIVERGED)'}`);
  }
  console.log(`\nresult: before diverged on ${beforeDiverged} of ${expected.size} media sets; after converged on all`);

  // With PostgreSQL too: the same "after", its entities spread over two members by amqpEntities.
  if (process.env.AMQP_URL && process.env.PG_URL) {
    const { views } = await runAcross(process.env.AMQP_URL, process.env.PG_URL, DELIVERED, expected, logger);
    console.log('\nACROSS: the same entities spread over two processes (amqpEntities: RabbitMQ partitions, leases through the PostgreSQL journal)');
    for (const [id, state] of expected) {
      const view = views.get(id)!;
      const downstream = view.downstream ?? undefined;
      const ok = JSON.stringify(downstream) === JSON.stringify(state);
      console.log(
        `${id} served by member ${view.member} (process ${view.pid}); duplicates ignored: ${view.duplicates.join(', ') || 'none'}; downstream: ${show(downstream)} ${ok ? '(ok)' : '(DIVERGED)'}`,
      );
    }
  }
} finally {
  await source.close();
}
