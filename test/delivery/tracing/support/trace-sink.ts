/** An HTTP destination that records each request's trace headers and answers as the test decides. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TraceSink {
  readonly url: string;
  readonly requests: IncomingHttpHeaders[];
  /** Resolves with the headers of request number `n` (1-based) once it arrived. */
  request(n: number): Promise<IncomingHttpHeaders>;
  close(): Promise<void>;
}

/** `status(n)`: the answer to request number n. */
export async function traceSink(status: (n: number) => number = () => 200): Promise<TraceSink> {
  const requests: IncomingHttpHeaders[] = [];
  const waiting = new Map<number, (headers: IncomingHttpHeaders) => void>();
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests.push(request.headers);
      const n = requests.length;
      response.writeHead(status(n)).end();
      waiting.get(n)?.(request.headers);
      waiting.delete(n);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    request: (n) => {
      const arrived = requests[n - 1];
      if (arrived !== undefined) return Promise.resolve(arrived);
      return new Promise((resolve) => waiting.set(n, resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
