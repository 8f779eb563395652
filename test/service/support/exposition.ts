/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests of `/metrics`: it throws,
 * naming the line, on anything Prometheus would refuse or a dashboard would misread — a malformed
 * name, label or value, TYPE or HELP twice or after the samples, a family split in two, a series
 * twice, a negative counter, histogram buckets that are not cumulative or lack `+Inf`, or a `+Inf`
 * bucket that is not the count. prom-client prints NaN as `Nan`; Prometheus (Go's ParseFloat) accepts
 * every spelling of NaN and Inf regardless of case, and so does this.
 */

import { spawnSync } from 'node:child_process';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  type: MetricType;
  help: string | undefined;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export class ExpositionError extends Error {
  constructor(lineNumber: number, line: string, problem: string) {
    super(`line ${lineNumber} (${JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}...` : line)}): ${problem}`);
  }
}

/** Parses `text`; the families in the order they appear, by name. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new ExpositionError(0, text.slice(-40), 'the exposition must end with a line feed');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const series = new Set<string>();
  const typed = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  lines.pop();
  const familyFor = (name: string, number: number, line: string): MetricFamily => {
    if (current !== undefined && current.name !== name) {
      finished.add(current.name);
      current = undefined;
    }
    if (finished.has(name)) throw new ExpositionError(number, line, `the lines of ${name} are not together`);
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    current = family;
    return family;
  };
  lines.forEach((line, index) => {
    const number = index + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const comment = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (comment === null) return; // any other comment is allowed
      const [, keyword, name, rest = ''] = comment;
      if (!METRIC_NAME.test(name!)) throw new ExpositionError(number, line, `bad metric name ${name}`);
      const family = familyFor(name!, number, line);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new ExpositionError(number, line, `HELP of ${name} twice`);
        family.help = unescapeHelp(rest, number, line);
        return;
      }
      const type = rest.trim() as MetricType;
      if (!TYPES.has(type)) throw new ExpositionError(number, line, `unknown type ${JSON.stringify(rest)}`);
      if (family.samples.length > 0) throw new ExpositionError(number, line, `TYPE of ${name} after its samples`);
      if (typed.has(family.name)) throw new ExpositionError(number, line, `TYPE of ${name} twice`);
      typed.add(family.name);
      family.type = type;
      return;
    }
    const sample = parseSample(line, number);
    // The sample belongs to the family being read when its name is that family's name plus a suffix its type allows.
    const owner = current !== undefined && SUFFIXES[current.type].some((suffix) => sample.name === current!.name + suffix) ? current : familyFor(sample.name, number, line);
    const key = `${sample.name}${labelKey(sample.labels)}`;
    if (series.has(key)) throw new ExpositionError(number, line, `series ${sample.name} ${JSON.stringify(sample.labels)} twice`);
    series.add(key);
    if (owner.type === 'counter' && !(sample.value >= 0)) throw new ExpositionError(number, line, 'a counter is never negative (nor NaN)');
    owner.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

function parseSample(line: string, number: number): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (head === null) throw new ExpositionError(number, line, 'a sample starts with a metric name');
  const name = head[1]!;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      if (line[at] === '}') {
        at++;
        break;
      }
      const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0];
      if (labelName === undefined || !LABEL_NAME.test(labelName)) throw new ExpositionError(number, line, `bad label name at column ${at}`);
      if (labelName.startsWith('__')) throw new ExpositionError(number, line, `label names starting with __ are reserved: ${labelName}`);
      if (labelName in labels) throw new ExpositionError(number, line, `label ${labelName} twice`);
      at += labelName.length;
      if (line.slice(at, at + 2) !== '="') throw new ExpositionError(number, line, `label ${labelName} needs ="value"`);
      at += 2;
      let value = '';
      for (;;) {
        const char = line[at];
        if (char === undefined) throw new ExpositionError(number, line, `unterminated value of label ${labelName}`);
        if (char === '"') break;
        if (char === '\\') {
          const next = line[at + 1];
          if (next === '\\') value += '\\';
          else if (next === '"') value += '"';
          else if (next === 'n') value += '\n';
          else throw new ExpositionError(number, line, `bad escape \\${next ?? ''} in label ${labelName}`);
          at += 2;
          continue;
        }
        value += char;
        at++;
      }
      at++;
      labels[labelName] = value;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new ExpositionError(number, line, `expected , or } after label ${labelName}`);
    }
  }
  const rest = line.slice(at);
  const parts = /^ +(\S+)(?: +(-?\d+))? *$/.exec(rest);
  if (parts === null) throw new ExpositionError(number, line, 'expected " value [timestamp]" after the name and labels');
  return { name, labels, value: parseValue(parts[1]!, number, line) };
}

function parseValue(text: string, number: number, line: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(number, line, `bad value ${text}`);
  return Number(text);
}

function unescapeHelp(text: string, number: number, line: string): string {
  return text.replace(/\\(.?)/g, (_match, next: string) => {
    if (next === '\\') return '\\';
    if (next === 'n') return '\n';
    throw new ExpositionError(number, line, `bad escape \\${next} in HELP`);
  });
}

/** Per label set (without `le`): buckets by increasing bound, cumulative, `+Inf` equal to `_count`, and a `_sum`. */
function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = labelKey(rest);
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le ${key}`);
      group.buckets.push([parseValue(le, 0, `le="${le}"`), sample.value]);
    } else {
      if (le !== undefined) throw new Error(`${family.name}: le on ${sample.name}`);
      if (sample.name.endsWith('_sum')) group.sum = sample.value;
      else group.count = sample.value;
    }
  }
  for (const [key, group] of groups) {
    const where = `${family.name} ${key}`;
    if (group.count === undefined || group.sum === undefined) throw new Error(`${where}: _sum and _count are both needed`);
    if (group.buckets.length === 0) throw new Error(`${where}: no buckets`);
    for (let i = 1; i < group.buckets.length; i++) {
      const [bound, count] = group.buckets[i]!;
      const [previousBound, previousCount] = group.buckets[i - 1]!;
      if (!(bound > previousBound)) throw new Error(`${where}: bucket bounds must increase (le=${previousBound} then le=${bound})`);
      if (!(count >= previousCount)) throw new Error(`${where}: buckets must be cumulative (le=${bound} has ${count} < ${previousCount})`);
    }
    const [lastBound, lastCount] = group.buckets.at(-1)!;
    if (lastBound !== Number.POSITIVE_INFINITY) throw new Error(`${where}: the last bucket must be le="+Inf"`);
    if (lastCount !== group.count) throw new Error(`${where}: the +Inf bucket (${lastCount}) must equal _count (${group.count})`);
  }
}

/** The value of the one sample `name` with exactly `labels` (default: none), or undefined. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = labelKey(labels);
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && labelKey(sample.labels) === wanted) return sample.value;
    }
  }
  return undefined;
}

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export type PromtoolVerdict = { readonly available: false } | { readonly available: true; readonly exitCode: number; readonly output: string; readonly lintProblems: string[] };

/**
 * `promtool check metrics` (Debian's prometheus package) on `text`, when promtool is installed: exit
 * code 1 is a parse error, 3 lint problems (one line each, starting with the metric's name).
 */
export function promtoolCheck(text: string): PromtoolVerdict {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { available: false };
  if (run.error) throw run.error;
  const output = `${run.stdout}${run.stderr}`;
  const lintProblems = output.split('\n').filter((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]* /.test(line));
  return { available: true, exitCode: run.status ?? -1, output, lintProblems };
}
