/**
 * Child process for the checkpointer test: checkpoints <path> once through a Checkpointer, closes it
 * and ends by itself (no process.exit: the test checks that nothing keeps it alive). Prints
 * "checkpointed" or "no checkpoint: <last error>" (exit code 1).
 */
import { Checkpointer } from '../../../journal/sqlite/checkpointer.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: checkpointer-child.ts <database path>');
const checkpointer = new Checkpointer(path);
for (let i = 0; i < 16; i++) checkpointer.afterCommit();
const deadline = Date.now() + 20_000;
while (checkpointer.checkpoints === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
await checkpointer.close();
if (checkpointer.checkpoints > 0) console.log('checkpointed');
else {
  console.log(`no checkpoint: ${checkpointer.lastError}`);
  process.exitCode = 1;
}
