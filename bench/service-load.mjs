/**
 * The load generator of `bench/service.bench.ts`, in a process of its own so that its CPU is not the
 * service's: posts messages from..from+count-1 to the service's POST /messages with IN_FLIGHT
 * concurrent keep-alive clients, each posting one after another. Started with fork(); answers
 * { posted, rejected } when done.
 */
import { Pool } from 'undici';

const [serviceUrl, sinkUrl, fromText, countText, inFlightText] = process.argv.slice(2);
const from = Number(fromText);
const count = Number(countText);
const inFlight = Number(inFlightText);
const base = new URL(serviceUrl);
const pool = new Pool(base.origin, { connections: inFlight, pipelining: 1 });

function message(n) {
  return {
    destination: { transport: 'http', url: sinkUrl },
    payload: {
      type: 'OrderPlaced',
      orderId: `order-${String(n).padStart(8, '0')}`,
      customerId: `customer-${n % 9973}`,
      lines: [
        { sku: `sku-${(n * 7919) % 10_000}`, quantity: 1 + (n % 5), priceCents: 1299 },
        { sku: `sku-${(n * 104_729) % 10_000}`, quantity: 1, priceCents: 450 },
      ],
      currency: 'EUR',
      note: 'door',
    },
  };
}

let next = from;
let rejected = 0;
async function client() {
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

await Promise.all(Array.from({ length: inFlight }, client));
await pool.close();
process.send({ posted: count, rejected });
process.disconnect();
