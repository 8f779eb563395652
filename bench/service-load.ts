/**
 * The load generator of `bench/service.bench.ts`, in a process of its own so that its CPU is not the
 * service's: posts messages from..from+count-1 to the service's POST /messages with IN_FLIGHT
 * concurrent keep-alive connections, each posting one after another. Started with fork() (through tsx);
 * says 'ready', begins when told, and answers { posted, rejected, cpuMicrosPerMessage } when done.
 *
 * It speaks HTTP/1.1 on plain sockets, as wrk does, rather than through an HTTP client: on the two
 * cores the service shares with the generator, PostgreSQL and the sink, every microsecond the generator
 * spends is taken from the service. undici's Pool cost ~70 µs of CPU per request here, these sockets
 * ~20 (2026-12-04, bench/README.md). It reads only what it needs of an answer: the status and
 * Content-Length (node:http answers with a length, never chunked, when the body is known).
 */
import { connect, type Socket } from 'node:net';
import { type OrderPlaced, orderPlaced } from './http-workload.js';

const [serviceUrl, sinkUrl, fromText, countText, inFlightText] = process.argv.slice(2);
const from = Number(fromText);
const count = Number(countText);
const inFlight = Number(inFlightText);
const base = new URL(serviceUrl!);
const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

function message(n: number): { destination: { transport: 'http'; url: string }; payload: OrderPlaced } {
  return { destination: { transport: 'http', url: sinkUrl! }, payload: orderPlaced(n) };
}

function request(n: number): Buffer {
  const body = JSON.stringify(message(n));
  return Buffer.from(`POST /messages HTTP/1.1\r\nHost: ${base.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** One keep-alive connection: sends a request, waits for its whole answer, and resolves with the status. */
class Connection {
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: ((status: number) => void) | undefined;
  #failed: ((error: Error) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#failed?.(error));
    socket.on('close', () => this.#failed?.(new Error('the service closed the connection')));
  }

  static open(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(base.port), base.hostname, () => {
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  post(bytes: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#failed = undefined;
    this.#socket.end();
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const headerEnd = this.#buffered.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.#buffered.toString('latin1', 0, headerEnd);
    const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
    const total = headerEnd + HEADER_END.length + length;
    if (this.#buffered.length < total) return;
    this.#buffered = this.#buffered.subarray(total);
    const status = Number(head.slice(9, 12));
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(status);
  }
}

let next = from;
let rejected = 0;
async function client(connection: Connection): Promise<void> {
  while (next < from + count) {
    const bytes = request(next++);
    for (;;) {
      const status = await connection.post(bytes);
      if (status === 202) break;
      if (status !== 429 && status !== 503) throw new Error(`the service answered ${status}`);
      // The service says "later": the message is offered again, as a client would.
      rejected++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

const connections = await Promise.all(Array.from({ length: inFlight }, () => Connection.open()));
// Started before the clock: the parent says when to begin (tsx and the imports take a while to load).
await new Promise<void>((resolve) => {
  process.once('message', () => resolve());
  process.send?.('ready');
});
const cpuBefore = process.cpuUsage();
await Promise.all(connections.map(client));
const cpu = process.cpuUsage(cpuBefore);
for (const connection of connections) connection.close();
process.send?.({ posted: count, rejected, cpuMicrosPerMessage: (cpu.user + cpu.system) / count });
process.disconnect();
