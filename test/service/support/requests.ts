/** Requests to the service with full control: method, headers, body, and the local (source) address. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly json: Record<string, unknown> & { error?: { code: string; message: string } };
  readonly text: string;
}

export interface CallOptions {
  readonly headers?: Record<string, string>;
  /** Sent as JSON (with Content-Type: application/json). */
  readonly body?: unknown;
  /** Source address, e.g. '127.0.0.7': each 127/8 address is a remote address of its own for the service. */
  readonly from?: string;
}

export function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string | number> = { ...options.headers };
  if (payload) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = payload.length;
  }
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${baseUrl}${path}`, { method, headers, ...(options.from ? { localAddress: options.from } : {}), agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Answer['json'] = {};
        try {
          json = JSON.parse(text) as Answer['json'];
        } catch {
          // not JSON (metrics)
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, json, text });
      });
    });
    request.on('error', reject);
    request.end(payload);
  });
}
