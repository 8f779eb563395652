/**
 * An HTTP destination whose answers the test decides while it runs: requests are held (no answer yet),
 * refused (500), or accepted (200), by the `mode` of the request's payload `{ mode: name }` as the test
 * set it. Held requests are answered when their mode changes.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Answering = 'hold' | 'refuse' | 'accept';

export interface SwitchEndpoint {
  readonly url: string;
  /** How each mode answers; unknown modes are accepted. */
  set(mode: string, answering: Answering): void;
  /** Requests that arrived, by mode. */
  requests(mode: string): number;
  close(): Promise<void>;
}

export async function switchEndpoint(): Promise<SwitchEndpoint> {
  const answering = new Map<string, Answering>();
  const counts = new Map<string, number>();
  const held = new Map<string, ServerResponse[]>();
  const answer = (response: ServerResponse, how: Answering) => {
    if (how === 'refuse') response.writeHead(500).end('refused by the test');
    else response.writeHead(200).end('ok');
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { mode?: unknown };
      const mode = typeof body.mode === 'string' ? body.mode : '';
      counts.set(mode, (counts.get(mode) ?? 0) + 1);
      const how = answering.get(mode) ?? 'accept';
      if (how !== 'hold') return answer(response, how);
      held.set(mode, [...(held.get(mode) ?? []), response]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    set(mode, how) {
      answering.set(mode, how);
      if (how === 'hold') return;
      for (const response of held.get(mode) ?? []) if (!response.destroyed) answer(response, how);
      held.delete(mode);
    },
    requests: (mode) => counts.get(mode) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
