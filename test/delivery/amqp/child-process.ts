/**
 * A fixture process (`node --import tsx <fixture> <json>`) whose stdout lines a test awaits: `waitFor`
 * resolves on the first line (past or future) matching a pattern, or rejects when the process exits
 * first or the deadline passes. No sleeping: every wait is for something the child said.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export class FixtureProcess {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private hasExited = false;

  constructor(
    fixture: string,
    argument: unknown,
    readonly label: string,
    onLine?: (line: string) => void,
  ) {
    // stdin is a pipe for fixtures that take commands while they run (`writeLine`); the others never read it.
    this.process = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(argument)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.process.stdin!.on('error', () => {}); // a write racing the child's exit
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        this.hasExited = true;
        for (const wake of [...this.waiters]) wake();
        resolve({ code, signal });
      }),
    );
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      onLine?.(line);
      for (const wake of [...this.waiters]) wake();
    });
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** The last line matching `pattern`, if any. */
  last(pattern: RegExp): RegExpExecArray | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const match = pattern.exec(this.lines[i]!);
      if (match) return match;
    }
    return undefined;
  }

  /** Resolves with the first line from `fromLine` on for which `accept` holds. */
  waitFor(pattern: RegExp, timeoutMs: number, accept: (match: RegExpExecArray) => boolean = () => true, fromLine = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let scanned = fromLine;
      const check = () => {
        for (; scanned < this.lines.length; scanned++) {
          const match = pattern.exec(this.lines[scanned]!);
          if (match && accept(match)) return finish(() => resolve(match));
        }
        if (this.hasExited) finish(() => reject(new Error(`${this.label} exited before printing ${pattern}`)));
      };
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.label}: no ${pattern} within ${timeoutMs} ms (last line: ${this.lines.at(-1) ?? 'none'})`))), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Sends one line to the child's stdin (ignored once it exited). */
  writeLine(line: string): void {
    if (!this.hasExited) this.process.stdin!.write(`${line}\n`);
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.hasExited) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (clean shutdown), falling back to SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.hasExited) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
