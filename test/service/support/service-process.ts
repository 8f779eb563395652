/**
 * The service as a child process, the way operators run it (`node --import tsx service/main.ts`),
 * with its JSON log lines parsed, so tests wait on what it says instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

type Waiter = { readonly match: (line: LogLine) => boolean; readonly resolve: (line: LogLine) => void };

export class ServiceProcess {
  readonly lines: LogLine[] = [];
  /** Lines on stdout that are not JSON (should be none). */
  readonly otherOutput: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters = new Set<Waiter>();

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        this.otherOutput.push(text);
        return;
      }
      this.lines.push(line);
      for (const waiter of this.#waiters) {
        if (waiter.match(line)) {
          this.#waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts the service with `env` over a minimal environment (no PG_URL/AMQP_URL unless given). */
  static spawn(env: Record<string, string>, entry = 'service/main.ts'): ServiceProcess {
    const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ServiceProcess(child);
  }

  /** Spawns and resolves once it listens; rejects (with its output) if it exits first. */
  static async start(env: Record<string, string>, timeoutMs = 60_000): Promise<RunningServiceProcess> {
    const service = ServiceProcess.spawn({ PORT: '0', ...env });
    const listening = await service.waitFor((line) => line.msg === 'steadfast listening', timeoutMs);
    return Object.assign(service, { port: listening.port as number, baseUrl: `http://127.0.0.1:${String(listening.port)}` });
  }

  waitFor(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; stderr: ${this.stderr}\nlast lines: ${this.lines
              .slice(-5)
              .map((l) => JSON.stringify(l))
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
      void this.exited.then(({ code, signal }) => {
        if (!this.#waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(
          new Error(
            `the service exited (code ${code}, signal ${signal}) before the expected log line; stderr: ${this.stderr}\nlast lines: ${this.lines
              .slice(-5)
              .map((l) => JSON.stringify(l))
              .join('\n')}`,
          ),
        );
      });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export type RunningServiceProcess = ServiceProcess & { readonly port: number; readonly baseUrl: string };

export function tempDataDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `steadfast-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

export async function getJson(baseUrl: string, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
