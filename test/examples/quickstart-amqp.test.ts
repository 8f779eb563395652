/**
 * The README's second and third quick starts as a pair, against the real RabbitMQ: the consumer runs
 * until Ctrl-C, the sender exits once its invoice is confirmed, and a second run of the sender sends
 * nothing. Each run has queue names of its own (the files read QUEUE and AMQP_SERVICE_NAME).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { amqpResource } from '../support/services.js';
import { type Running, startExample } from './run-example.js';

const amqp = await amqpResource('quickstart');
afterAll(() => amqp?.cleanup());

const SENDER = 'examples/quickstart/outbox.ts';
const CONSUMER = 'examples/quickstart/consumer.ts';
const BOUND_MS = 60_000;

const started: Running[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const running of started.splice(0)) running.kill();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Names of this test's own, removed by cleanup: the queue, its dead-letter queue, the reply queue. */
function ownNames(label: string): Record<string, string> {
  const queue = amqp!.name(`${label}-invoices`);
  amqp!.name(`${label}-invoices.dead-letter`);
  const serviceName = amqp!.name(`${label}-billing`);
  amqp!.name(`${label}-billing.replies`);
  return { AMQP_URL: amqp!.url, QUEUE: queue, AMQP_SERVICE_NAME: serviceName };
}

function run(entry: string, env: Record<string, string>, dir: string): Running {
  const running = startExample(entry, env, dir);
  started.push(running);
  return running;
}

function projectDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-quickstart-amqp-'));
  dirs.push(dir);
  return dir;
}

describe.runIf(amqp)('README quick starts 2 and 3: the outbox sends, the consumer applies once', () => {
  it('consumer first, then the sender: the invoice is applied, confirmed, and a second send is the same delivery', async () => {
    const env = ownNames('pair');
    const dir = projectDir();
    const consumer = run(CONSUMER, env, dir);
    await consumer.waitForLine(`consuming ${env.QUEUE}; Ctrl-C stops`);

    const sender = run(SENDER, env, dir);
    expect((await sender.exited(BOUND_MS)).code, sender.stderr).toBe(0);
    expect(sender.lines).toEqual(['invoice 42 is delivery 1', 'delivery 1: confirmed']);
    await consumer.waitForLine('customer c-7: invoice 42, total 100');

    const again = run(SENDER, env, dir);
    expect((await again.exited(BOUND_MS)).code, again.stderr).toBe(0);
    expect(again.lines).toEqual(['invoice 42 is delivery 1 (sent before: the same key gives the same delivery)', 'delivery 1: confirmed']);

    consumer.interrupt();
    const stopped = await consumer.exited(BOUND_MS);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(consumer.lines).toEqual([`consuming ${env.QUEUE}; Ctrl-C stops`, 'customer c-7: invoice 42, total 100']);
  }, 180_000);

  it('the sender started before the consumer sends again until the consumer is there, then exits', async () => {
    const env = ownNames('sender-first');
    const dir = projectDir();
    const sender = run(SENDER, env, dir);
    await sender.waitForLine('invoice 42 is delivery 1');

    const consumer = run(CONSUMER, env, dir);
    const done = await sender.exited(BOUND_MS);
    expect(done.code, done.stderr).toBe(0);
    expect(sender.lines).toEqual(['invoice 42 is delivery 1', 'delivery 1: confirmed']);

    await consumer.waitForLine('customer c-7: invoice 42, total 100');
    consumer.interrupt();
    expect((await consumer.exited(BOUND_MS)).code).toBe(0);
  }, 180_000);
});
