/**
 * The service started inside the test process (startService, as run.ts does), for faults that need the
 * same process: SQLite's `max_page_count` is a setting of the connection, which the journal shares with
 * whoever opens the same file in this process. Log lines are kept, parsed, for assertions.
 */
import pino from 'pino';
import { loadConfig } from '../../../service/config.js';
import { startService, type RunningService } from '../../../service/service.js';
import type { LogLine } from './service-process.js';

export interface InProcessService {
  readonly service: RunningService;
  readonly baseUrl: string;
  readonly lines: LogLine[];
  stop(): Promise<void>;
}

export async function startInProcess(env: Record<string, string>): Promise<InProcessService> {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) });
  const service = await startService(loadConfig({ PORT: '0', HOST: '127.0.0.1', ...env }), logger);
  return { service, baseUrl: `http://127.0.0.1:${service.address.port}`, lines, stop: () => service.shutdown() };
}
