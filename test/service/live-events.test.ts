/**
 * The event stream's bounds, on a real HTTP server and real sockets: a client that stops reading gets
 * no queue (what waits for it in the process stays about one snapshot while snapshots keep coming), is
 * cut off once it has taken nothing for maxBlockedMs, and a client that reads meanwhile keeps getting
 * fresh snapshots; past maxClients a stream is refused with 503 `too_many_event_clients`.
 */
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpError } from '../../service/errors.js';
import { LiveEvents } from '../../service/live-events.js';
import { eventually, waitUntil } from '../support/eventually.js';

const FRAME_BYTES = 256 * 1024;
let server: Server | undefined;
let events: LiveEvents | undefined;

afterEach(async () => {
  events?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function serve(options: { maxClients: number; maxBlockedMs: number }): Promise<{ port: number; responses: ServerResponse[] }> {
  let n = 0;
  const hub = new LiveEvents({ ...options, intervalMs: 20, logger: pino({ level: 'silent' }), snapshot: async () => ({ n: ++n, filler: 'x'.repeat(FRAME_BYTES) }) });
  events = hub;
  const responses: ServerResponse[] = [];
  server = createServer((_request, response) => {
    try {
      hub.admit();
    } catch (error) {
      response.writeHead((error as HttpError).status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: (error as HttpError).code } }));
      return;
    }
    responses.push(response);
    hub.open(response);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server!.address() as AddressInfo).port, responses };
}

/** A client that reads: the number of the last snapshot it got. */
function reader(port: number): { last: () => number; response: Promise<IncomingMessage> } {
  let text = '';
  let last = 0;
  const response = new Promise<IncomingMessage>((resolve) =>
    get(`http://127.0.0.1:${port}/events`, (answer) => {
      resolve(answer);
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
          const match = /^data: \{"n":(\d+)/m.exec(text.slice(0, end));
          if (match) last = Number(match[1]);
          text = text.slice(end + 2);
        }
      });
    }),
  );
  return { last: () => last, response };
}

describe('LiveEvents', () => {
  it('keeps at most about one snapshot for a client that does not read, cuts it off, and serves the others', async () => {
    const { port, responses } = await serve({ maxClients: 4, maxBlockedMs: 1500 });
    const stalled = connect(port, '127.0.0.1');
    stalled.write('GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    stalled.pause();
    await waitUntil('the stalled stream is open', () => responses.length === 1, 10_000, 10);
    const stalledResponse = responses[0]!;
    const reading = reader(port);

    // The kernel's buffers fill first; from then on frames are replaced, not queued.
    await waitUntil('the stalled socket is full', () => stalledResponse.writableNeedDrain, 20_000, 10);
    let most = 0;
    const started = reading.last();
    while (!stalledResponse.destroyed) {
      most = Math.max(most, stalledResponse.writableLength);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(most).toBeLessThan(3 * FRAME_BYTES);
    expect(reading.last()).toBeGreaterThan(started);
    await eventually(
      async () => events!.clients,
      (clients) => clients === 1,
      5000,
      'only the reading client left',
    );
    stalled.destroy();
  });

  it('refuses a stream past maxClients with 503 too_many_event_clients', async () => {
    const { port } = await serve({ maxClients: 2, maxBlockedMs: 30_000 });
    const first = await reader(port).response;
    const second = await reader(port).response;
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    const third = await reader(port).response;
    expect(third.statusCode).toBe(503);
    first.destroy();
    await waitUntil('a place is free', () => events!.clients === 1, 5000, 10);
    expect((await reader(port).response).statusCode).toBe(200);
  });
});
