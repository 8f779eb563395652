/**
 * `npm run bench [filter]`: runs every benchmark in bench/*.bench.ts (or those whose name contains
 * the filter; opt-in ones only then) and prints one table. Benchmarks that need PostgreSQL, RabbitMQ or
 * MySQL are skipped with a reason when the server does not answer (PG_URL / AMQP_URL / MYSQL_URL, else
 * the defaults on 127.0.0.1).
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Benchmark, type BenchResult, reachable } from './harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2];

function format(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

const services = {
  postgres: await reachable(process.env.PG_URL, 5432),
  rabbitmq: await reachable(process.env.AMQP_URL, 5672),
  mysql: await reachable(process.env.MYSQL_URL, 3306),
};
if (typeof globalThis.gc !== 'function') {
  console.warn('note: run with --expose-gc (npm run bench does) for stable heap figures');
}

const files = (await readdir(here)).filter((file) => file.endsWith('.bench.ts')).sort();
const rows: (BenchResult & { group: string })[] = [];
for (const file of files) {
  const module = (await import(new URL(file, import.meta.url).href)) as { benchmarks?: Benchmark[] };
  for (const benchmark of module.benchmarks ?? []) {
    if (filter && !benchmark.name.includes(filter) && !file.includes(filter)) continue;
    if (benchmark.optIn && !filter) {
      console.log(`skip ${benchmark.name}: runs only when named (npm run bench -- ${file.replace(/\.bench\.ts$/, '')})`);
      continue;
    }
    const missing = (benchmark.needs ?? []).filter((need) => !services[need]);
    if (missing.length > 0) {
      console.log(`skip ${benchmark.name}: ${missing.join(', ')} not reachable`);
      continue;
    }
    process.stdout.write(`run  ${benchmark.name} ... `);
    const started = performance.now();
    try {
      const results = await benchmark.run();
      console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const result of results) rows.push({ ...result, group: benchmark.name });
    } catch (error) {
      console.log(`FAILED: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    }
  }
}

console.log('');
console.log(
  `node ${process.version}, ${new Date().toISOString()}, library from ${process.execArgv.some((arg) => arg.includes('compiled.mjs')) ? 'dist/ (compiled)' : 'sources via tsx'}`,
);
console.log('| benchmark | value | unit | baseline | ratio | target | meets |');
console.log('| --- | ---: | --- | ---: | ---: | --- | --- |');
for (const row of rows) {
  const meets = row.meetsTarget === undefined ? '' : row.meetsTarget ? 'yes' : 'NO';
  console.log(
    `| ${row.name} | ${format(row.value, row.value < 10 ? 3 : 0)} | ${row.unit} | ${format(row.baseline, row.baseline !== undefined && row.baseline < 10 ? 3 : 0)} | ${format(row.ratio, 2)} | ${row.target ?? ''} | ${meets} |`,
  );
}
