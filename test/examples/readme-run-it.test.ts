/**
 * The README's "Run it": the service started with `npm start` (which builds it first; data in a directory of
 * its own), the receiver snippet, then the curl snippet exactly as written; PORT and RECEIVER_PORT,
 * the variables the snippets read, are free ports here. Each answer is the one the README shows, the
 * curl snippet ends by itself, and Ctrl-C stops the receiver and the service (which logs its clean stop).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { codeBlocks, ROOT } from './readme-blocks.js';
import { plainLines, type Running, startShell } from './run-example.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-run-it-'));
const started: Running[] = [];
afterAll(() => {
  for (const running of started) running.kill();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function shell(script: string, env: Record<string, string>): Running {
  const running = startShell(script, dir, env);
  started.push(running);
  return running;
}

describe('README "Run it"', () => {
  it('the service, the receiver and the curl lines, as written: persisted, delivered, confirmed; Ctrl-C stops them', async () => {
    const [start, receiver, curl, ...rest] = codeBlocks('Run it');
    expect([start?.lang, receiver?.lang, curl?.lang, rest.length]).toEqual(['sh', 'sh', 'sh', 0]);
    expect(start!.code.split('\n')).toContain('npm start          # the service on http://127.0.0.1:8080 (PORT), data in ./data (SQLite); Ctrl-C stops it');

    const env = { PORT: String(await freePort()), RECEIVER_PORT: String(await freePort()) };
    // As written: npm builds first (prestart), then runs the compiled service.
    const service = shell(`cd ${JSON.stringify(ROOT)} && exec npm start`, { ...env, DATA_DIR: join(dir, 'data') });
    await waitUntil(
      'the service answers /healthz',
      () =>
        fetch(`http://127.0.0.1:${env.PORT}/healthz`).then(
          (answer) => answer.ok,
          () => false,
        ),
      60_000,
    );
    const hook = shell(receiver!.code, env);
    await waitUntil('the receiver listens', () => accepts(Number(env.RECEIVER_PORT)), 30_000);

    const commands = shell(curl!.code, env);
    const done = await commands.exited(60_000);
    expect(done.code, done.stderr).toBe(0);
    const [posted, confirmed, inFlight, health, ...more] = plainLines(done.stdout);
    expect(posted).toBe('{"deliveryId":1,"duplicate":false}');
    expect(confirmed).toBe('{"status":"confirmed","deliveryId":1}');
    expect(inFlight).toBe('{"count":0,"deliveries":[],"nextAfter":null}');
    expect(health).toMatch(/^\{"status":"ok","role":"active","checks":\{/);
    expect(more).toEqual([]);
    // The README shows these answers as they are printed.
    for (const answer of [posted, confirmed, inFlight, '{"status":"ok","role":"active","checks":{']) expect(curl!.code).toContain(answer);
    expect(hook.lines).toEqual(['{"order":1}']);

    hook.interrupt();
    await hook.exited(30_000);
    service.interrupt();
    // Ctrl-C reaches npm and the service; the service shuts down cleanly (npm then ends by the signal).
    const stopped = await service.exited(60_000);
    expect(stopped.stdout, stopped.stderr).toContain('"msg":"steadfast stopped"');
    expect(stopped.stderr).not.toMatch(/error/i);
  }, 180_000);
});
