/**
 * Makes the broker drop connections, the way a broker restart or a network cut does, without stopping
 * the node: other suites share this RabbitMQ, so only connections whose client-provided name contains
 * `nameFragment` (this test file's unique prefix) are closed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function rabbitmqctlAvailable(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['list_connections', 'pid', '--formatter', 'json'], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/** Closes the matching connections; resolves with how many were closed. */
export async function closeConnectionsNamed(nameFragment: string, reason = 'test'): Promise<number> {
  // The tab-separated listing prints pids in the form close_connection accepts (the JSON one does not).
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '--quiet', '--no-table-headers'], { timeout: 15_000 });
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(nameFragment))
    .map((line) => line.split('\t')[0]!.trim())
    .filter((pid) => pid.startsWith('<'));
  // In parallel, so that the connections drop at (nearly) the same moment, like in a broker restart.
  await Promise.all(pids.map((pid) => run('rabbitmqctl', ['close_connection', pid, reason], { timeout: 15_000 })));
  return pids.length;
}
