/**
 * Where the CPU of a benchmark phase went, on Linux: this process (`process.cpuUsage`), RabbitMQ's
 * `beam.smp` (/proc/<pid>/stat), everything else that ran, and what stayed idle (/proc/stat). The
 * broker, PostgreSQL and this process share the machine's cores, so a throughput figure alone does
 * not say which of them limits it. Elsewhere (no /proc) it measures nothing and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface CpuSplit {
  /** CPU milliseconds per 1000 messages. */
  readonly node: number;
  readonly nodeSystem: number;
  readonly rabbitmq: number;
  readonly others: number;
  readonly idle: number;
}

interface Sample {
  readonly node: number;
  readonly nodeSystem: number;
  readonly beam: number;
  readonly busy: number;
  readonly idle: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function beamPid(): string | undefined {
  try {
    return execFileSync('pgrep', ['-x', 'beam.smp'], { encoding: 'utf8' }).trim().split('\n')[0] || undefined;
  } catch {
    return undefined;
  }
}

function ticksOf(pid: string | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function sample(pid: string | undefined): Sample {
  const usage = process.cpuUsage();
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return {
    node: (usage.user + usage.system) / 1000,
    nodeSystem: usage.system / 1000,
    beam: ticksOf(pid) * TICK_MS,
    busy: (cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]!) * TICK_MS,
    idle: (cpu[3]! + cpu[4]!) * TICK_MS,
  };
}

/** Runs `phase` and returns its result with the CPU split per 1000 of its `messages`, where /proc exists. */
export async function measureCpu<T>(messages: number, phase: () => Promise<T>): Promise<{ result: T; split: CpuSplit | undefined }> {
  if (!existsSync('/proc/stat')) return { result: await phase(), split: undefined };
  const pid = beamPid();
  const before = sample(pid);
  const result = await phase();
  const after = sample(pid);
  const per = 1000 / messages;
  const node = after.node - before.node;
  const beam = after.beam - before.beam;
  return {
    result,
    split: {
      node: node * per,
      nodeSystem: (after.nodeSystem - before.nodeSystem) * per,
      rabbitmq: beam * per,
      others: Math.max(0, after.busy - before.busy - beam - node) * per,
      idle: (after.idle - before.idle) * per,
    },
  };
}

export function describeCpu(split: CpuSplit | undefined): string {
  if (!split) return 'cpu split: no /proc here';
  const ms = (value: number) => value.toFixed(0);
  return `cpu ms per 1000 messages: node ${ms(split.node)} (system ${ms(split.nodeSystem)}), RabbitMQ ${ms(split.rabbitmq)}, others (PostgreSQL) ${ms(split.others)}, idle ${ms(split.idle)}`;
}
