/** An HTTP destination for tests: records what arrived and fails a chosen share of the requests. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyEndpoint {
  readonly url: string;
  /** Bodies of the requests answered 2xx, in arrival order. */
  readonly accepted: unknown[];
  readonly headers: IncomingHttpHeaders[];
  requests: number;
  failures: number;
  close(): Promise<void>;
}

/** `fail(requestNumber, body)` decides whether a request is answered 500. */
export async function flakyEndpoint(fail: (requestNumber: number, body: unknown) => boolean = () => false): Promise<FlakyEndpoint> {
  const endpoint = { accepted: [] as unknown[], headers: [] as IncomingHttpHeaders[], requests: 0, failures: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const number = ++endpoint.requests;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (fail(number, body)) {
        endpoint.failures++;
        response.writeHead(500).end('try again');
        return;
      }
      endpoint.accepted.push(body);
      endpoint.headers.push(request.headers);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(endpoint, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
