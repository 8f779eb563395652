/**
 * The load generator of `bench/service.bench.ts`, in a process of its own so that its CPU is not the
 * service's: posts messages from..from+count-1 to the service's POST /messages with IN_FLIGHT
 * concurrent keep-alive clients, each posting one after another. Started with fork() (through tsx); says
 * 'ready', begins when told, and answers { posted, rejected } when done.
 */
import { Pool } from 'undici';
import { type OrderPlaced, orderPlaced } from './http-workload.js';

const [serviceUrl, sinkUrl, fromText, countText, inFlightText] = process.argv.slice(2);
const from = Number(fromText);
const count = Number(countText);
const inFlight = Number(inFlightText);
const base = new URL(serviceUrl!);
const pool = new Pool(base.origin, { connections: inFlight, pipelining: 1 });

function message(n: number): { destination: { transport: 'http'; url: string }; payload: OrderPlaced } {
  return { destination: { transport: 'http', url: sinkUrl! }, payload: orderPlaced(n) };
}

let next = from;
let rejected = 0;
async function client(): Promise<void> {
  while (next < from + count) {
    const n = next++;
    const body = JSON.stringify(message(n));
    for (;;) {
      const response = await pool.request({ path: '/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.body.dump();
      if (response.statusCode === 202) break;
      // 429 / 503: the service says "later"; the message is offered again, as a client would.
      rejected++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

// Started before the clock: the parent says when to begin (tsx and the imports take a while to load).
await new Promise<void>((resolve) => {
  process.once('message', () => resolve());
  process.send?.('ready');
});
await Promise.all(Array.from({ length: inFlight }, client));
await pool.close();
process.send?.({ posted: count, rejected });
process.disconnect();
