import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** A TypeScript child process (run through tsx) whose stdout lines can be awaited. */
export class Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  stderr = '';

  constructor(script: string, args: readonly string[]) {
    this.process = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, `file://${root}`)), ...args], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    createInterface({ input: this.process.stdout }).on('line', (line) => {
      this.#lines.push(line);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        for (const wake of this.#waiters.splice(0)) wake();
        resolve({ code, signal });
      });
    });
  }

  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Resolves with the first line matching `test`; rejects if the child exits without printing it. */
  async waitForLine(test: (line: string) => boolean): Promise<string> {
    let seen = 0;
    for (;;) {
      for (; seen < this.#lines.length; seen++) if (test(this.#lines[seen]!)) return this.#lines[seen]!;
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`child exited (${this.process.exitCode ?? this.process.signalCode}) without the expected line; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}
