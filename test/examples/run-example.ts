/** Runs examples and README snippets the way a user does, and collects what they print. */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/** tsx by its resolved location, so that a run in another directory finds it too. */
const TSX = import.meta.resolve('tsx');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `entry` (relative to the repository) with tsx. `cwd` defaults to the repository; elsewhere, the
 * repository's tsconfig still maps `steadfast` to the sources (TSX_TSCONFIG_PATH).
 */
export function runExample(entry: string, env: Record<string, string> = {}, cwd = ROOT): Promise<Finished> {
  return startExample(entry, env, cwd).finished;
}

/** `runExample` for a program that runs until stopped: its lines can be awaited while it runs. */
export function startExample(entry: string, env: Record<string, string> = {}, cwd = ROOT): Running {
  return new Running(spawn(process.execPath, ['--import', TSX, resolve(ROOT, entry)], { cwd, env: { ...baseEnv(), TSX_TSCONFIG_PATH: resolve(ROOT, 'tsconfig.json'), ...env } }));
}

/** Runs a TypeScript file with tsx and nothing else: `steadfast` resolves as in a user's project (node_modules). */
export function startTypeScript(file: string, cwd: string, env: Record<string, string> = {}): Running {
  return new Running(spawn(process.execPath, ['--import', TSX, file], { cwd, env: { ...baseEnv(), ...env } }));
}

/**
 * Runs a shell snippet with bash, in a process group of its own so that `interrupt` reaches every
 * process it started, as Ctrl-C in a terminal does.
 */
export function startShell(script: string, cwd: string, env: Record<string, string> = {}): Running {
  return new Running(spawn('bash', ['-c', script], { cwd, env: { ...baseEnv(), ...env }, detached: true }), true);
}

function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
}

export class Running {
  readonly finished: Promise<Finished>;
  stdout = '';
  stderr = '';
  #waiters: (() => void)[] = [];

  constructor(
    readonly child: ChildProcess,
    readonly ownGroup = false,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
      this.#wake();
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.finished = new Promise((done) => {
      child.once('close', (code) => {
        this.#wake();
        done({ code, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** What it printed on stdout, without pino's JSON log lines. */
  get lines(): string[] {
    return plainLines(this.stdout);
  }

  /** Resolves once a line of stdout equals `line`; rejects if the process ends first or after `timeoutMs`. */
  async waitForLine(line: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.finished.then(() => (ended = true));
    for (;;) {
      if (this.lines.includes(line)) return;
      if (ended) throw new Error(`ended without printing ${JSON.stringify(line)}; stdout: ${this.stdout} stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${JSON.stringify(line)} within ${timeoutMs} ms; stdout: ${this.stdout} stderr: ${this.stderr}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Ctrl-C: SIGINT to the process (or to its whole group, for a shell snippet). */
  interrupt(): void {
    this.#signal('SIGINT');
  }

  /** For cleanup after a failed test: ends whatever still runs. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.#signal('SIGKILL');
  }

  /** Resolves with how it ended; rejects (and kills it) if it still runs after `timeoutMs`. */
  async exited(timeoutMs: number): Promise<Finished> {
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`still running after ${timeoutMs} ms; stdout: ${this.stdout} stderr: ${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.finished, overdue]);
    } finally {
      clearTimeout(timer);
    }
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(this.ownGroup ? -pid : pid, signal);
    } catch {
      // Already gone.
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Output lines that are not pino JSON log lines. */
export function plainLines(output: string): string[] {
  return output.split('\n').filter((line) => line !== '' && !line.startsWith('{"level":'));
}
