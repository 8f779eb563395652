/**
 * A consumer process killed with SIGKILL mid-stream and restarted loses nothing: every delivery ends up
 * with exactly one persisted effect and a confirmation at the sender.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource } from '../support/services.js';
import { amqpTransport } from '../../delivery/amqp/index.js';
import { Progress, recordingContext, recordingLogger } from '../delivery/amqp/helpers.js';
import { SimulatedSender } from '../delivery/amqp/simulated-sender.js';

const amqp = await amqpResource('amqp crash');
const fixture = fileURLToPath(new URL('./fixtures/amqp-consumer.ts', import.meta.url));
const TOTAL = 5000;

interface Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  /** How many messages it had handled when it paused (see the fixture's pauseAfter), once it did. */
  paused(): number | undefined;
}

function startConsumer(url: string, queue: string, effectsFile: string, onLine: () => void, pauseAfter?: number): Child {
  const args = [fixture, url, queue, effectsFile, ...(pauseAfter === undefined ? [] : [String(pauseAfter)])];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let paused: number | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`consumer exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
      const match = /^paused (\d+)$/.exec(line);
      if (match) paused = Number(match[1]);
      onLine();
    });
  });
  return { process: child, ready, exited, paused: () => paused };
}

describe.runIf(amqp)('amqp consumer crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-amqp-crash-'));
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await amqp?.cleanup();
  });

  it('loses nothing when the consumer process is SIGKILLed mid-stream and restarted', { timeout: 120_000 }, async () => {
    const progress = new Progress();
    const { logger } = recordingLogger(progress);
    const queue = amqp!.name('crash');
    amqp!.name('crash.dead-letter');
    const replies = amqp!.name('crash.replies');
    const effectsFile = join(dir, 'effects.log');
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: `${amqp!.prefix}crash`, replyQueue: replies, logger });
    const sender = new SimulatedSender(transport, { transport: 'amqp', queue }, 'crasher', { redeliverAfterMs: 2000, tickMs: 500, window: 64 });
    const confirm = context.confirm.bind(context);
    context.confirm = (senderId, deliveryId) => {
      sender.confirm(deliveryId);
      confirm(senderId, deliveryId);
    };
    await transport.start(context);

    // The first consumer stops finishing handlers after 1500 (it hangs with deliveries in progress),
    // so the kill lands mid-stream however fast the machine is.
    const first = startConsumer(amqp!.url, queue, effectsFile, () => progress.notify(), 1500);
    let second: Child | undefined;
    try {
      await first.ready;
      const sending = sender.sendAll(TOTAL);
      await progress.until(() => first.paused() !== undefined, 60_000, 'the first consumer to be mid-stream');
      first.process.kill('SIGKILL');
      expect(await first.exited).toBe(null);
      const confirmedAtKill = context.confirmed.size;
      expect(confirmedAtKill).toBeLessThan(TOTAL);

      second = startConsumer(amqp!.url, queue, effectsFile, () => progress.notify());
      await second.ready;
      await sending;
      await progress.until(() => sender.unconfirmed.size === 0, 90_000, 'every delivery confirmed after the restart');

      const lines = readFileSync(effectsFile, 'utf8').split('\n').filter(Boolean);
      const ids = new Set(lines);
      expect(ids.size).toBe(TOTAL);
      // dedup by the persisted state: no effect applied twice
      expect(lines.length).toBe(TOTAL);
      for (let id = 1; id <= TOTAL; id++) expect(ids.has(`crasher:${id}`)).toBe(true);
    } finally {
      sender.stop();
      if (first.process.exitCode === null && first.process.signalCode === null) first.process.kill('SIGKILL');
      if (second) {
        second.process.kill('SIGTERM');
        await second.exited;
      }
      await transport.close();
    }
  });
});
